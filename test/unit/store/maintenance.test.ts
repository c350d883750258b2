import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ChunkStore } from '../../../src/store/chunks.js';
import { NO_VOLUME_EVENTS } from '../../../src/store/events.js';
import { capacityLimits } from '../../../src/store/eviction.js';
import { Journal } from '../../../src/store/journal.js';
import { LeaderLock } from '../../../src/store/leader.js';
import { Maintenance } from '../../../src/store/maintenance.js';
import { RecordStore } from '../../../src/store/records.js';
import { scannedBytes, scanVolume } from '../../../src/store/scan.js';
import { readSummary } from '../../../src/store/state-files.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';

let root: string;
let volume: Volume;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-maintenance-'));
  volume = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'leader-test' });
});
after(() => rm(root, { recursive: true, force: true }));

const presentBytes = async () =>
  [...(await scanVolume(root)).values()].reduce((n, o) => n + scannedBytes(o), 0);

test('the leader accounts journaled writes, and its rolling scan corrects what no journal said', async () => {
  const journal = new Journal(volume, { flushMs: 60_000, segmentBytes: 1 << 20, segmentAgeMs: 0 });
  await journal.start();
  volume.events = journal;
  const chunks = new ChunkStore(volume);
  const leader = new LeaderLock(volume, 10_000);
  assert.ok(await leader.tryAcquire());
  const maintenance = new Maintenance(volume, new RecordStore(volume), chunks, leader, {
    limits: capacityLimits({
      maxBytes: 1 << 30,
      triggerPercent: 90,
      targetPercent: 80,
      admissionMs: 0,
      writeSharePercent: 50,
    }),
    minFreePercent: 0,
    deadAfterMs: 60_000,
    liveness: { flushMs: 2_000, silentAfterMs: 60_000 },
    scanIntervalMs: 1,
    roundMs: 1,
    uploadTtlMs: 86_400_000,
    isExpired: null,
    log: { info() {}, warn() {} },
  });
  await maintenance.round();
  const bytes = Buffer.alloc(65536, 7);
  for (let i = 0; i < 5; i++) {
    await chunks.write(
      { namespace: 'aws', bucket: 'bkt', key: `k${i}`, etag: '"e"' },
      0,
      65536,
      [{ start: 0, bytes }],
      'raw',
    );
  }
  await journal.flush(true);
  await maintenance.round();
  assert.equal((await readSummary(root))?.totalBytes, await presentBytes());

  // Removed behind Kura's back (an operator, a crash before the journal flushed): only a scan knows.
  volume.events = NO_VOLUME_EVENTS;
  await chunks.removeObject({ namespace: 'aws', bucket: 'bkt', key: 'k0' });
  await chunks.write(
    { namespace: 'aws', bucket: 'bkt', key: 'k9', etag: '"e"' },
    0,
    65536,
    [{ start: 0, bytes }],
    'raw',
  );
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 5; i++) await maintenance.round();
  assert.equal((await readSummary(root))?.totalBytes, await presentBytes());
  await leader.release();
  await journal.close();
});
