// The leader's accounting after a removal that races a writer: a chunk renamed into a version's directory
// once the removal has moved it away is on the volume, so the journal must leave it counted, however late
// the removal's own callback runs. The space gate trusts the leader's total for every byte no longer
// pending, so a chunk dropped here is a chunk the gate lets the volume hold beyond max_size.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Accounting } from '../../../src/store/accounting.js';
import { ChunkStore } from '../../../src/store/chunks.js';
import { Journal, journalDirOf, parseSegment } from '../../../src/store/journal.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';

let root: string;
let volume: Volume;
let journal: Journal;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-removal-accounting-'));
  volume = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'remover' });
  journal = new Journal(volume, { flushMs: 60_000, segmentBytes: 1 << 20, segmentAgeMs: 0 });
  await journal.start();
  volume.events = journal;
});
after(async () => {
  await journal.close();
  await rm(root, { recursive: true, force: true });
});

/** Blocks the event loop for `ms`: the removal's callback cannot run meanwhile, as on a busy instance. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

test('a chunk written just after a removal moved its version away stays counted', async () => {
  const v = { namespace: '', bucket: 'bkt', key: 'racing', etag: '"e1"' };
  const chunks = new ChunkStore(volume);
  await chunks.write(v, 0, 65536, [{ start: 0, bytes: Buffer.alloc(65536, 1) }], 'raw');

  const removal = chunks.removeVersion(v);
  // The rename runs in the thread pool while this thread spins: once the directory has left its path,
  // another instance's fill renames a chunk into a new one and journals it, all before the removal's
  // callback can run.
  const deadline = Date.now() + 5_000;
  while (existsSync(volume.versionDir(v)) && Date.now() < deadline) {
    // spin
  }
  assert.ok(!existsSync(volume.versionDir(v)), 'the removal moved the directory away');
  busy(3);
  mkdirSync(volume.versionDir(v), { recursive: true });
  const refill = volume.chunkPath(v, 1, false);
  writeFileSync(refill, Buffer.alloc(1000, 2));
  journal.chunkWritten(v, '1', statSync(refill).size);
  busy(3);
  await removal;

  await journal.flush(true);
  const dir = journalDirOf(root, volume.instanceId);
  const acc = new Accounting();
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()) {
    for (const { at, event } of parseSegment(await readFile(join(dir, name), 'utf8'))) acc.apply(at, event);
  }
  assert.ok(existsSync(refill), 'the refill is on the volume');
  assert.ok(
    acc.totalBytes >= 1000,
    `the accounting holds ${acc.totalBytes} bytes for a version whose 1000-byte chunk is on the volume`,
  );
});
