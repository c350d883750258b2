// What a read looks at before it trusts a record it remembers: another process's changes are seen at the
// next read, through the volume's change mark or the record file's own look, or within the recheck time.

import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRecordFile } from '../../../src/store/record-file.js';
import { RecordStore } from '../../../src/store/records.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';
import { recordKey as key, objectRecord as record } from '../../support/record-fixtures.js';

let root: string;
let volume: Volume;
/** Another instance on the same volume, whose changes the stores under test must see. */
let records: RecordStore;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-record-reads-'));
  volume = await openVolume({ dir: join(root, 'vol'), chunkSize: 1024, instanceId: 'test' });
  records = new RecordStore(volume);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('RecordStore reads', () => {
  for (const local of [true, false]) {
    test(`a remembered record replaced or removed by another process is seen at the next read (${local ? 'local volume: a synchronous stat' : 'a volume not known to be local'})`, async () => {
      const on = await openVolume({
        dir: volume.dir,
        chunkSize: volume.chunkSize,
        instanceId: 'reader',
        local,
      });
      const store = new RecordStore(on);
      const k = key();
      await store.update(k, () => record(k));
      assert.equal((await store.read(k))?.etag, '"0123456789abcdef"');
      assert.equal((await store.read(k))?.etag, '"0123456789abcdef"', 'remembered');
      // Another instance on the volume replaces the record, then removes it.
      await records.update(k, () => record(k, { etag: '"another version"' }));
      assert.equal((await store.read(k))?.etag, '"another version"');
      await records.update(k, () => null);
      assert.equal(await store.read(k), null);
    });
  }

  test('a remembered record answers without a look at its file while the change mark stands; one look at the mark serves every read that arrived before it', async () => {
    const stats: string[] = [];
    const on = await openVolume({ dir: volume.dir, chunkSize: volume.chunkSize, instanceId: 'counted' });
    const calls = on.calls;
    const counted = Object.create(calls) as typeof calls;
    counted.stat = (path: string) => {
      stats.push(path);
      return calls.stat(path);
    };
    Object.defineProperty(on, 'calls', { value: counted });
    const store = new RecordStore(on);
    const [a, b] = [key(), key()];
    await store.update(a, () => record(a));
    await store.update(b, () => record(b));
    await store.read(a);
    await store.read(b);
    stats.length = 0;
    // Two reads that arrived before the look share it; neither looks at its record file.
    const arrived = performance.now();
    const [ra, rb] = await Promise.all([store.read(a, arrived), store.read(b, arrived)]);
    assert.equal(ra?.key, a.key);
    assert.equal(rb?.key, b.key);
    assert.deepEqual(stats, [join(volume.dir, 'state', 'record-changes')]);
    // A read that arrives after that look looks at the mark again.
    stats.length = 0;
    await store.read(a);
    assert.deepEqual(stats, [join(volume.dir, 'state', 'record-changes')]);
    // A change anywhere moves the mark: each remembered record's file is looked at once more.
    await records.update(key(), (r) => r);
    await records.update(key(), () => null);
    const other = key();
    await records.update(other, () => record(other));
    stats.length = 0;
    assert.equal((await store.read(a))?.key, a.key);
    assert.deepEqual(stats, [join(volume.dir, 'state', 'record-changes'), on.recordPath(a)]);
  });

  test('a record file changed without the change mark moving is trusted at most until the mark is gone', async () => {
    // The mark removed (an append that failed removes it): every remembered record's file is looked at.
    const k = key();
    await records.update(k, () => record(k));
    const reader = new RecordStore(
      await openVolume({ dir: volume.dir, chunkSize: volume.chunkSize, instanceId: 'unmarked' }),
    );
    assert.equal((await reader.read(k))?.etag, '"0123456789abcdef"');
    const path = volume.recordPath(k);
    await rm(join(volume.dir, 'state', 'record-changes'));
    await writeFile(`${path}.new`, encodeRecordFile(record(k, { etag: '"another version"' })));
    await rename(`${path}.new`, path);
    assert.equal((await reader.read(k))?.etag, '"another version"');
  });
});

describe('RecordStore with a recheck time', () => {
  const RECHECK_MS = 300;
  let store: RecordStore;
  let changed: string[];
  before(() => {
    store = new RecordStore(volume, { recheckMs: RECHECK_MS });
    changed = [];
    store.onChange = (path) => changed.push(path);
  });

  test('a record read within the recheck time answers without a look at its file', async () => {
    const k = key();
    const r = record(k);
    await store.update(k, () => r);
    assert.deepEqual(await store.read(k), r);
    // Removed by another instance's eviction: the read still answers from memory, which shows it made
    // no file-system call.
    await records.update(k, () => null);
    assert.deepEqual(await store.read(k), r);
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS + 50));
    assert.equal(await store.read(k), null);
  });

  test('a file replaced by another process is seen once the recheck time has passed', async () => {
    const k = key();
    await store.update(k, () => record(k));
    await store.read(k);
    await records.update(k, () => record(k, { etag: '"another version"' }));
    assert.equal((await store.read(k))?.etag, '"0123456789abcdef"');
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS + 50));
    assert.equal((await store.read(k))?.etag, '"another version"');
  });

  test('its own changes are seen at once and told to onChange', async () => {
    const k = key();
    await store.update(k, () => record(k));
    await store.read(k);
    changed.length = 0;
    await store.update(k, () => record(k, { etag: '"second"' }));
    assert.equal((await store.read(k))?.etag, '"second"');
    await store.remove(k);
    assert.equal(await store.read(k), null);
    assert.ok(changed.length >= 2);
    assert.ok(changed.every((p) => p === volume.recordPath(k)));
  });

  test('forget: the next read looks at the file, as a change relayed from another worker asks', async () => {
    const k = key();
    await store.update(k, () => record(k));
    await store.read(k);
    await rm(volume.recordPath(k));
    store.forget(volume.recordPath(k));
    assert.equal(await store.read(k), null);
  });
});
