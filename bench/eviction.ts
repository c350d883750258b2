// Eviction throughput on a local volume: how many files per second the maintenance leader removes, and
// how fast it consolidates journal events. One process, real files; read it as a floor for a local
// disk (an NFS volume pays a round trip per removal).
//
//   npm run bench:eviction              2 000 objects of 8 chunks
//   npm run bench:eviction -- --quick   200 objects

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkStore } from '../src/store/chunks.js';
import { capacityLimits } from '../src/store/eviction.js';
import { Journal } from '../src/store/journal.js';
import { LeaderLock } from '../src/store/leader.js';
import { Maintenance } from '../src/store/maintenance.js';
import { RecordStore } from '../src/store/records.js';
import { readSummary } from '../src/store/state-files.js';
import type { ObjectRecord } from '../src/store/types.js';
import { openVolume } from '../src/store/volume.js';

const quick = process.argv.includes('--quick');
const OBJECTS = quick ? 200 : 2_000;
const CHUNKS = 8;
const CHUNK = 64 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'kura-bench-eviction-'));
try {
  const volume = await openVolume({ dir, chunkSize: CHUNK, instanceId: 'bench' });
  const journal = new Journal(volume, { flushMs: 60_000, segmentBytes: 2 ** 30, segmentAgeMs: 0 });
  await journal.start();
  volume.events = journal;
  const records = new RecordStore(volume);
  const chunks = new ChunkStore(volume);
  const payload = randomBytes(CHUNK);
  const started = Date.now();
  for (let i = 0; i < OBJECTS; i++) {
    const k = { namespace: 'aws', bucket: 'bench', key: `object-${i}` };
    const now = Date.now();
    const record: ObjectRecord = {
      format: 1,
      ...k,
      etag: `"${i}"`,
      size: CHUNK * CHUNKS,
      lastModified: null,
      headers: [],
      checksums: null,
      partsCount: null,
      parts: {},
      source: 'get',
      codec: 'raw',
      validatedGet: now,
      validatedHead: null,
      createdAt: now,
    };
    await records.update(k, () => record);
    const v = { ...k, etag: record.etag };
    await Promise.all(
      Array.from({ length: CHUNKS }, (_, c) =>
        chunks.write(v, c, CHUNK, [{ start: 0, bytes: payload }], 'raw'),
      ),
    );
  }
  const filled = Date.now() - started;
  await journal.flush(true);

  const total = OBJECTS * (CHUNKS * (CHUNK + 64) + 300);
  const leader = new LeaderLock(volume, 30_000);
  await leader.tryAcquire();
  const log = { info() {}, warn: (m: string, f?: object) => console.error(m, f) };
  const maintenance = new Maintenance(volume, records, chunks, leader, {
    // Everything is over the trigger: the round evicts down to 10 % of what is there.
    limits: capacityLimits({
      maxBytes: Math.floor(total / 2),
      triggerPercent: 50,
      targetPercent: 20,
      admissionMs: 0,
      writeSharePercent: 100,
    }),
    minFreePercent: 0,
    deadAfterMs: 60_000,
    liveness: { flushMs: 2_000, silentAfterMs: 60_000 },
    scanIntervalMs: Number.POSITIVE_INFINITY,
    roundMs: 1_000,
    uploadTtlMs: 86_400_000,
    isExpired: null,
    log,
  });
  const roundStart = Date.now();
  await maintenance.round();
  const roundMs = Date.now() - roundStart;
  const summary = await readSummary(dir);
  const ev = summary?.lastEviction;
  console.log(`filled ${OBJECTS} objects × ${CHUNKS} chunks in ${filled} ms`);
  console.log(
    `one leader round (consolidating ${OBJECTS * (CHUNKS + 1)} journal events, then evicting): ${roundMs} ms`,
  );
  if (ev) {
    console.log(
      `evicted ${ev.objects} objects, ${ev.files} files, ${(ev.bytes / 2 ** 20).toFixed(1)} MiB in ${ev.ms} ms: ` +
        `${Math.round((ev.files * 1000) / Math.max(1, ev.ms))} files/s`,
    );
  }
  await leader.release();
  await journal.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
