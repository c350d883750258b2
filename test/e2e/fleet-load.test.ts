// Three real instances on one small volume under mixed load: whole and range reads, overwrites and
// deletes through Kura, over a working set three times the cache size. Every answer must be byte-exact
// for a version the origin held while the request ran, no answer may be a 5xx, and the volume must stay
// within max_size at every sample, whatever the leader's lag (docs/volume.md, src/store/space-gate.ts).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFleetStatus } from '../../src/store/fleet-status.js';
import type { EvictionReport } from '../../src/store/state-files.js';
import { expectedRange, presignedGet, prng, type Read, sdkClient, sdkGet } from '../support/cache-client.js';
import { sampleVolume, startFleet, type TestFleet, volumeBytes } from '../support/fleet.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const KiB = 1024;
const MiB = 2 ** 20;
const MAX_SIZE = 8 * MiB;
const CHUNK = 64 * KiB;
const LOAD_MS = Number(process.env.KURA_FLEET_LOAD_MS ?? 75_000);
const CLIENTS_PER_INSTANCE = 16;

/** An answer the connection was cut in the middle of (the client saw no complete response). */
const CUT: Read = {
  status: 0,
  body: Buffer.alloc(0),
  xCache: undefined,
  contentRange: undefined,
  etag: undefined,
  headers: {},
};

let origin: MemoryOrigin;
let fleet: TestFleet;

before(async () => {
  origin = await startMemoryOrigin();
  fleet = await startFleet({
    origin: origin.url,
    cacheYaml: [
      `  max_size: ${MAX_SIZE}`,
      `  chunk_size: ${CHUNK}`,
      '  ram_size: 4MiB',
      '  eviction_trigger: 85%',
      '  eviction_target: 70%',
      '  admission_window: 0s',
      '  journal_flush: 200ms',
      '  journal_segment_age: 200ms',
      '  leader_stale: 3s',
      '  lease_time: 5s',
      '  scan_interval: 5s',
      '',
    ].join('\n'),
  });
});
after(async () => {
  await fleet?.close();
  await origin?.close();
});

/**
 * When a version of a key may have been current at the origin: from when its write was sent until a
 * later write (sent after this one was answered) was answered. Overlapping writes may land in any order.
 */
interface Visible {
  etag: string | null;
  sentAt: number;
  answeredAt: number | null;
  from: number;
  to: number;
}

test('3 instances × 16 clients of mixed reads, overwrites and deletes: byte-exact, no 5xx, within max size', async () => {
  const keys = Array.from({ length: 48 }, (_, i) => `mixed/object-${i}.bin`);
  const bodies = new Map<string, Buffer>();
  const history = new Map<string, Visible[]>();
  const random = prng(5);
  let workingSet = 0;
  for (const key of keys) {
    const body = randomBytes(64 * KiB + Math.floor(random() * 960 * KiB));
    workingSet += body.length;
    const etag = origin.put(BUCKET, key, body).etag;
    bodies.set(etag, body);
    history.set(key, [{ etag, sentAt: 0, answeredAt: 0, from: 0, to: Number.POSITIVE_INFINITY }]);
  }
  assert.ok(workingSet >= 3 * MAX_SIZE, `working set ${workingSet} is three times the cache size`);

  const counts = { reads: 0, hits: 0, writes: 0, deletes: 0, fiveXX: 0, cut: 0, wrong: [] as string[] };
  const samples: number[] = [];
  const lags: number[] = [];
  const evictions = new Map<number, EvictionReport>();
  const stopAt = Date.now() + LOAD_MS;

  const volumeSampler = sampleVolume(fleet.dir, 100);
  const sampler = (async () => {
    while (Date.now() < stopAt) {
      const status = await readFleetStatus(fleet.dir);
      if (status.consolidationLagMs !== null) lags.push(status.consolidationLagMs);
      if (status.lastEviction) evictions.set(status.lastEviction.at, status.lastEviction);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const versionSent = (key: string, etag: string | null, at: number): Visible => {
    const v: Visible = { etag, sentAt: at, answeredAt: null, from: at, to: Number.POSITIVE_INFINITY };
    (history.get(key) as Visible[]).push(v);
    return v;
  };
  const versionAnswered = (key: string, mine: Visible, at: number) => {
    mine.answeredAt = at;
    for (const v of history.get(key) as Visible[]) {
      if (v !== mine && v.answeredAt !== null && v.answeredAt < mine.sentAt) v.to = Math.min(v.to, at);
    }
  };
  const check = (key: string, read: Read, start: number, end: number, range: string | null) => {
    counts.reads += 1;
    if (read.status >= 500) counts.fiveXX += 1;
    const seen = (history.get(key) as Visible[]).filter((v) => v.from <= end && v.to >= start);
    if (read.status === 0) {
      // Kura cuts an answer whose head is sent when the object changes under it (S3 says 412 to the
      // If-Match of the missing bytes): fine while a write overlapped, a bug otherwise.
      counts.cut += 1;
      if (seen.length < 2) {
        const versions = (history.get(key) as Visible[]).map(
          (v) => `${v.etag ?? 'deleted'} ${v.from}-${v.to}`,
        );
        counts.wrong.push(
          `${key}: answer cut while no write overlapped (${read.error ?? 'no error'}; ${range ?? 'whole object'}, ` +
            `request ${start}-${end}; ` +
            `versions: ${versions.join(', ')})`,
        );
      }
      return;
    }
    if (read.xCache === 'HIT') counts.hits += 1;
    if (read.status === 404) {
      if (!seen.some((v) => v.etag === null)) counts.wrong.push(`${key}: 404 while it existed`);
      return;
    }
    if (read.status >= 500) return;
    if (read.status === 416) {
      // A range past the end of a version that was current then.
      const from = Number(/^bytes=(\d+)/.exec(range ?? '')?.[1] ?? Number.NaN);
      const fits = seen.some((v) => v.etag !== null && (bodies.get(v.etag)?.length ?? 0) <= from);
      if (!fits) counts.wrong.push(`${key}: 416 for ${range}`);
      return;
    }
    const version = seen.find((v) => v.etag === read.etag);
    const body = read.etag ? bodies.get(read.etag) : undefined;
    if (!version || !body) {
      const was = (history.get(key) as Visible[]).find((v) => v.etag === read.etag);
      counts.wrong.push(
        `${key}: ETag ${read.etag} was not current during the request (${read.status} ${read.xCache}; ` +
          `request ${start}-${end}, version ${was?.from}-${was?.to})`,
      );
      return;
    }
    const r = range === null ? { start: 0, end: body.length - 1 } : expectedRange(body.length, range);
    if (r === null) return;
    if (!read.body.equals(body.subarray(r.start, r.end + 1))) {
      counts.wrong.push(`${key}: bytes differ from version ${read.etag} for ${range ?? 'the whole object'}`);
    }
  };

  const loop = async (client: S3Client, url: string, seed: number) => {
    const rnd = prng(seed);
    while (Date.now() < stopAt) {
      const key = keys[Math.floor(rnd() * keys.length)] as string;
      const op = rnd();
      const start = Date.now();
      if (op < 0.04) {
        const body = randomBytes(64 * KiB + Math.floor(rnd() * 960 * KiB));
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        bodies.set(etag, body);
        const sent = versionSent(key, etag, start);
        try {
          await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          versionAnswered(key, sent, Date.now());
        } catch {
          counts.fiveXX += 1;
        }
        counts.writes += 1;
      } else if (op < 0.06) {
        const sent = versionSent(key, null, start);
        try {
          await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
          versionAnswered(key, sent, Date.now());
        } catch {
          counts.fiveXX += 1;
        }
        counts.deletes += 1;
      } else if (op < 0.75) {
        check(key, await sdkGet(client, BUCKET, key), start, Date.now(), null);
      } else {
        const from = Math.floor(rnd() * 900 * KiB);
        const range = `bytes=${from}-${from + Math.floor(rnd() * 200 * KiB)}`;
        const read =
          op < 0.88
            ? await sdkGet(client, BUCKET, key, range)
            : await presignedGet(url, BUCKET, key, { range }).catch((err: Error) => ({
                ...CUT,
                error: err.message,
              }));
        check(key, read, start, Date.now(), read.status === 200 ? null : range);
      }
    }
  };

  const loops = fleet.members.flatMap((m, i) =>
    Array.from({ length: CLIENTS_PER_INSTANCE }, (_, j) => loop(sdkClient(m.url), m.url, 100 * i + j)),
  );
  await Promise.all(loops);
  await sampler;
  samples.push(...(await volumeSampler.stop()), await volumeBytes(fleet.dir));

  const maxSample = Math.max(...samples);
  const evicted = [...evictions.values()];
  const files = evicted.reduce((n, e) => n + e.files, 0);
  const ms = evicted.reduce((n, e) => n + e.ms, 0);
  const sortedLags = [...lags].sort((a, b) => a - b);
  console.log(
    `mixed load: ${counts.reads} reads (${counts.hits} HIT), ${counts.writes} overwrites, ${counts.deletes} deletes, ` +
      `${counts.cut} cut answers, ${counts.fiveXX} 5xx; volume max ${maxSample} bytes over ${samples.length} samples ` +
      `(max_size ${MAX_SIZE}); eviction ${files} files in ${ms} ms over ${evicted.length} rounds seen ` +
      `(${ms > 0 ? ((files * 1000) / ms).toFixed(0) : 'n/a'} files/s); consolidation lag ms median ` +
      `${sortedLags[Math.floor(sortedLags.length / 2)]} p95 ${sortedLags[Math.floor(sortedLags.length * 0.95)]} max ${sortedLags[sortedLags.length - 1]}`,
  );
  for (const m of fleet.members)
    console.log(
      m.proc
        .stderr()
        .split('\n')
        .filter((l) => /warn|error/.test(l))
        .slice(0, 5)
        .join('\n'),
    );
  assert.deepEqual(counts.wrong.slice(0, 10), []);
  assert.equal(counts.fiveXX, 0, 'no 5xx');
  assert.ok(counts.hits > 0, 'the cache served hits');
  assert.ok(evicted.length > 0, 'the leader evicted');
  assert.ok(maxSample <= MAX_SIZE, `the volume held ${maxSample} bytes; max_size is ${MAX_SIZE}`);
});
