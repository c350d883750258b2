// Instances of a fleet die at any moment: 30 rounds of `kill -9` of a random instance while it fills,
// then a restart. Within a minute of the last crash (with the default hourly scan), `kura cache verify`
// must exit 0: no corrupt chunk or record, size accounting within 2% of the files present, and no temp
// file of a dead instance left (src/store/reaper.ts). And `kura cache purge` while clients read: afterwards no purged key is
// answered from cache.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { VerifyReport } from '../../src/store/verify.js';
import { presignedGet, prng, type Read, sdkClient, sdkGet } from '../support/cache-client.js';
import { type FleetMember, runKura, startFleet } from '../support/fleet.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const KiB = 1024;
const MiB = 2 ** 20;
const ROUNDS = 30;

/** A member's temp directory name: its instance id (`{hostname}-{pid}-{random}`) starts with this. */
function tmpDirOf(m: FleetMember): string {
  return `${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${m.proc.child.pid}-`;
}

/** Files in temp directories of instances not running now. */
async function deadTempFiles(volumeDir: string, live: Set<string>): Promise<number> {
  let n = 0;
  for (const dir of await readdir(join(volumeDir, 'tmp')).catch(() => [] as string[])) {
    if ([...live].some((prefix) => dir.startsWith(prefix))) continue;
    n += (await readdir(join(volumeDir, 'tmp', dir)).catch(() => [])).length;
  }
  return n;
}

/**
 * What one read during a crash round came to: the exact bytes (`from` is where a ranged read starts),
 * or a clean failure (no answer, a cut answer, or a 5xx); anything else is described.
 */
async function readDuringCrash(read: Promise<Read>, body: Buffer, from: number | null): Promise<string> {
  let r: Read;
  try {
    r = await read;
  } catch {
    return 'failed';
  }
  // sdkGet answers status 0 for a request without an answer or a body cut short.
  if (r.status === 0 || r.status >= 500) return 'failed';
  const want = from === null ? body : body.subarray(from);
  if (r.status === (from === null ? 200 : 206) && r.body.equals(want)) return 'exact';
  return `status ${r.status}, ${r.body.length} bytes, ${r.body.equals(want) ? 'the right' : 'wrong'} bytes`;
}

let origin: MemoryOrigin;
before(async () => {
  // Slow enough that a fill of 2 MiB takes about 100 ms: kills land in the middle of fills.
  origin = await startMemoryOrigin({ bandwidthBytesPerSec: 20 * MiB });
});
after(() => origin?.close());

const YAML = [
  '  max_size: 256MiB',
  '  chunk_size: 64KiB',
  '  journal_flush: 200ms',
  '  journal_segment_age: 200ms',
  '  leader_stale: 2s',
  '  lease_time: 3s',
  '',
].join('\n');

test('crash loop: 30 × kill -9 mid-fill and restart; verify finds no corruption and accounting within 2%', async () => {
  const fleet = await startFleet({ origin: origin.url, cacheYaml: YAML });
  try {
    const random = prng(30);
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < ROUNDS; i++) {
      const body = randomBytes(1 * MiB + Math.floor(random() * MiB));
      bodies.set(`crash/object-${i}.bin`, body);
      origin.put(BUCKET, `crash/object-${i}.bin`, body);
    }
    // A killed instance restarts while the next rounds go on with the others.
    const restarting = new Map<number, Promise<void>>();
    let answered = 0;
    let failed = 0;
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const key = `crash/object-${round}.bin`;
      const body = bodies.get(key) as Buffer;
      const live = fleet.members.map((_, i) => i).filter((i) => !restarting.has(i));
      const victim = live[Math.floor(random() * live.length)] as number;
      const reads = live.flatMap((i) => {
        const m = fleet.members[i] as (typeof fleet.members)[number];
        const start = Math.floor(random() * MiB);
        const on = async (read: Promise<Read>, from: number | null) => ({
          member: i,
          outcome: await readDuringCrash(read, body, from),
        });
        return [
          on(sdkGet(sdkClient(m.url), BUCKET, key), null),
          on(presignedGet(m.url, BUCKET, key, { range: `bytes=${start}-` }), start),
        ];
      });
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 100)));
      await fleet.kill(victim);
      // Only the killed instance's reads may fail; the others wait out its lease or fetch themselves.
      for (const { member, outcome } of await Promise.all(reads)) {
        if (outcome === 'exact') answered += 1;
        else if (outcome === 'failed' && member === victim) failed += 1;
        else wrong.push(`round ${round}, ${key} through member ${member}: ${outcome}`);
      }
      restarting.set(
        victim,
        fleet.restart(victim).finally(() => restarting.delete(victim)),
      );
      // Two instances down at once would leave a round without readers on a live one.
      if (restarting.size > 1) await Promise.race(restarting.values());
    }
    await Promise.all(restarting.values());
    console.log(
      `crash loop: ${answered} reads answered byte-exact, ${failed} of the killed instances failed`,
    );
    assert.deepEqual(
      wrong,
      [],
      "every read got the exact bytes, or failed cleanly with its instance's death",
    );
    assert.ok(answered > ROUNDS, `${answered} reads answered during the crashes`);
    // Every object answers byte-exact from every instance after the crashes.
    for (const [key, body] of bodies) {
      for (const m of fleet.members) {
        const r = await sdkGet(sdkClient(m.url), BUCKET, key);
        assert.equal(r.status, 200);
        assert.ok(r.body.equals(body), `${key} byte-exact through ${m.host}`);
      }
    }
    // The leader cleans up after the dead at once, and rescans what they may not have journaled: verify
    // passes within a minute, although the rolling scan's own pass takes an hour.
    const crashedAt = Date.now();
    const liveTmp = new Set(fleet.members.map((m) => tmpDirOf(m)));
    let verify = await runKura(['cache', 'verify', '--json', '--cache-dir', fleet.dir]);
    let deadTemp = await deadTempFiles(fleet.dir, liveTmp);
    while ((verify.code !== 0 || deadTemp > 0) && Date.now() - crashedAt < 60_000) {
      await new Promise((r) => setTimeout(r, 1_000));
      verify = await runKura(['cache', 'verify', '--json', '--cache-dir', fleet.dir]);
      deadTemp = await deadTempFiles(fleet.dir, liveTmp);
    }
    const report = JSON.parse(verify.stdout) as VerifyReport;
    console.log(
      `crash loop: verify after ${Date.now() - crashedAt} ms: ${report.chunks} chunks, ${report.corruptChunks.length} corrupt, ` +
        `${report.badRecords.length} bad records, accounting off by ${(report.accountingError * 100).toFixed(2)}%, ` +
        `${deadTemp} temp files of dead instances`,
    );
    assert.equal(deadTemp, 0, 'no temp file of a dead instance is left');
    assert.equal(report.corruptChunks.length, 0);
    assert.equal(report.badRecords.length, 0);
    assert.ok(report.accountingError <= 0.02, `accounting off by ${report.accountingError}`);
    assert.equal(verify.code, 0, verify.stdout);
  } finally {
    await fleet.close();
  }
});

test('kura cache purge while clients read: afterwards no purged key is answered from cache', async () => {
  const fleet = await startFleet({ origin: origin.url, cacheYaml: YAML });
  try {
    const purged = Array.from({ length: 12 }, (_, i) => `purge/gone-${i}.bin`);
    const kept = Array.from({ length: 6 }, (_, i) => `keep/stay-${i}.bin`);
    const old = new Map<string, Buffer>();
    for (const key of [...purged, ...kept]) {
      old.set(key, randomBytes(128 * KiB));
      origin.put(BUCKET, key, old.get(key) as Buffer);
    }
    const clients = fleet.members.map((m) => sdkClient(m.url));
    for (const key of [...purged, ...kept]) {
      for (const c of clients) assert.equal((await sdkGet(c, BUCKET, key)).status, 200);
    }
    // The origin changes behind Kura's back: only a purge makes Kura stop answering the old bytes.
    const fresh = new Map<string, Buffer>();
    for (const key of purged) {
      fresh.set(key, randomBytes(128 * KiB));
      origin.put(BUCKET, key, fresh.get(key) as Buffer);
    }
    let stop = false;
    let wrong = 0;
    const notOk: string[] = [];
    const readers = clients.flatMap((c) =>
      Array.from({ length: 4 }, async (_, j) => {
        const rnd = prng(j + 1);
        while (!stop) {
          const key = [...purged, ...kept][Math.floor(rnd() * (purged.length + kept.length))] as string;
          const r = await sdkGet(c, BUCKET, key);
          if (r.status !== 200) {
            notOk.push(`${key}: ${r.status}`);
            continue;
          }
          const ok =
            r.body.equals(old.get(key) as Buffer) || r.body.equals(fresh.get(key) ?? Buffer.alloc(0));
          if (!ok) wrong += 1;
        }
      }),
    );
    const purge = await runKura(['cache', 'purge', `${BUCKET}/purge/`, '--cache-dir', fleet.dir]);
    stop = true;
    await Promise.all(readers);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /purged \d+ objects? under kura-test\/purge\//);
    assert.deepEqual(notOk, [], 'every read during the purge is answered 200');
    assert.equal(wrong, 0, 'every answer during the purge was one version or the other, byte-exact');

    for (const key of purged) {
      for (const c of clients) {
        const r = await sdkGet(c, BUCKET, key);
        assert.ok(r.body.equals(fresh.get(key) as Buffer), `${key}: the origin's bytes, not the purged ones`);
      }
    }
    for (const key of kept) {
      const r = await sdkGet(clients[0] as (typeof clients)[number], BUCKET, key);
      assert.equal(r.xCache, 'HIT', `${key} outside the prefix stays cached`);
      assert.ok(r.body.equals(old.get(key) as Buffer));
    }
  } finally {
    await fleet.close();
  }
});
