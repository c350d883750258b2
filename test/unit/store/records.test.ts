import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { encodeRecordFile } from '../../../src/store/record-file.js';
import { RecordLockError } from '../../../src/store/record-lock.js';
import { parseObjectRecord, RecordStore } from '../../../src/store/records.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';
import { recordKey as key, objectRecord as record } from '../../support/record-fixtures.js';
import { present } from '../../support/volume-files.js';

let root: string;
let volume: Volume;
let records: RecordStore;
let damaged: [string, string][] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-records-'));
  volume = await openVolume({ dir: join(root, 'vol'), chunkSize: 1024, instanceId: 'test' });
  records = new RecordStore(volume, { onDamaged: (path, reason) => damaged.push([path, reason]) });
});

/** `text` in a record file's envelope with a checksum that matches: only the content can be wrong. */
function checksummed(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([
    Buffer.from(`{"crc32":"${crc32(body).toString(16).padStart(8, '0')}","record":`),
    body,
    Buffer.from('}'),
  ]);
}

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Resolves once no update is under way: an update settles before its lock is released. */
async function idle(): Promise<void> {
  while (records.updating > 0) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('RecordStore', () => {
  test('no record: read is null', async () => {
    assert.equal(await records.read(key()), null);
  });

  test('update creates, replaces, leaves and deletes a record', async () => {
    const k = key();
    const first = record(k);
    assert.deepEqual(
      await records.update(k, (current) => {
        assert.equal(current, null);
        return first;
      }),
      first,
    );
    assert.deepEqual(await records.read(k), first);

    const second = record(k, { etag: '"new"', size: 10 });
    await records.update(k, (current) => {
      assert.deepEqual(current, first);
      return second;
    });
    assert.deepEqual(await records.read(k), second);

    assert.deepEqual(await records.update(k, () => undefined), second);
    assert.deepEqual(await records.read(k), second);

    assert.equal(await records.update(k, () => null), null);
    assert.equal(await records.read(k), null);
    assert.ok(!(await present(volume.recordPath(k))));

    await records.update(k, () => first);
    await records.remove(k);
    assert.equal(await records.read(k), null);
    await records.remove(k); // nothing to remove: fine
  });

  test('a record of another key in this key’s file is no record', async () => {
    const a = key();
    const b = key();
    await records.update(a, () => record(a));
    await mkdir(dirname(volume.recordPath(b)), { recursive: true });
    await writeFile(volume.recordPath(b), await readFile(volume.recordPath(a)));
    assert.equal(await records.read(b), null);
    assert.notEqual(await records.read(a), null);
    // Same key in another namespace (another S3 store): not the same object either.
    assert.equal(
      parseObjectRecord(encodeRecordFile(record(a)), { ...a, namespace: 'http://minio:9000' }),
      null,
    );
  });

  test('damaged, foreign or future-format files are no record: removed and reported', async () => {
    const k = key();
    const good = record(k);
    const bad = [
      Buffer.from(''),
      Buffer.from('{"format":1'),
      Buffer.from('null'),
      Buffer.from('[]'),
      checksummed('{"format":1'),
      checksummed(JSON.stringify({ ...good, format: 2 })),
      checksummed(JSON.stringify({ ...good, size: -1 })),
      checksummed(JSON.stringify({ ...good, etag: 5 })),
      checksummed(JSON.stringify({ ...good, headers: [['a']] })),
      checksummed(JSON.stringify({ ...good, codec: 'zstd' })),
      checksummed(JSON.stringify({ ...good, parts: { '1': { start: 0 } } })),
      checksummed(JSON.stringify({ ...good, source: undefined })),
      checksummed(JSON.stringify(record(key()))),
    ];
    await mkdir(dirname(volume.recordPath(k)), { recursive: true });
    for (const file of bad) {
      damaged = [];
      await writeFile(volume.recordPath(k), file);
      assert.equal(await records.read(k), null, file.toString());
      assert.equal(damaged.length, 1, file.toString());
      assert.equal(damaged[0]?.[0], volume.recordPath(k));
      assert.ok(!(await present(volume.recordPath(k))), 'removed');
    }
    await writeFile(volume.recordPath(k), bad[5] as Buffer);
    // An update sees no record and replaces the damaged file.
    await records.update(k, (current) => {
      assert.equal(current, null);
      return good;
    });
    assert.deepEqual(await records.read(k), good);
  });

  test('a single-bit flip anywhere in a record file makes it no record, removed and reported once', async () => {
    const k = key();
    const good = record(k, { size: 2_957_048, validatedGet: Date.now() });
    await records.update(k, () => good);
    const path = volume.recordPath(k);
    const file = await readFile(path);
    const tmp = `${path}.flip`;
    // Every byte, each with another of its bits (test/e2e/record-faults.test.ts flips every bit).
    for (let byte = 0; byte < file.length; byte++) {
      const bit = byte * 8 + (byte % 8);
      const flipped = Buffer.from(file);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      // A new inode each time, as a rename would make, so no remembered parse can answer.
      await writeFile(tmp, flipped);
      await rename(tmp, path);
      damaged = [];
      assert.equal(await records.read(k), null, `bit ${bit}`);
      assert.equal(damaged.length, 1, `bit ${bit} reported once`);
      assert.ok(!(await present(path)), `bit ${bit}: removed`);
    }
    await records.update(k, () => good);
    assert.deepEqual(await records.read(k), good);
  });

  test('a record of the previous format (no checksum) is a miss, not damage; the next update replaces it', async () => {
    const k = key();
    const good = record(k);
    await mkdir(dirname(volume.recordPath(k)), { recursive: true });
    await writeFile(volume.recordPath(k), JSON.stringify(good));
    damaged = [];
    assert.equal(await records.read(k), null);
    assert.deepEqual(damaged, []);
    assert.ok(await present(volume.recordPath(k)), 'left for the next fill to replace');
    await records.update(k, (current) => {
      assert.equal(current, null);
      return good;
    });
    assert.deepEqual(await records.read(k), good);
  });

  test('wrong types: a directory where the record belongs, a file where its directory belongs', async () => {
    const k = key();
    const path = volume.recordPath(k);
    await mkdir(join(path, 'inside'), { recursive: true });
    damaged = [];
    assert.equal(await records.read(k), null);
    assert.deepEqual(damaged, [[path, 'not a file']]);
    assert.ok(!(await present(path)));
    await records.update(k, () => record(k));
    assert.notEqual(await records.read(k), null);

    const k2 = key();
    const dir = dirname(volume.recordPath(k2));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(dir), { recursive: true });
    await writeFile(dir, 'not a directory');
    damaged = [];
    assert.equal(await records.read(k2), null);
    assert.equal(damaged[0]?.[0], dir, 'the file in the way is what was removed');
    await records.update(k2, () => record(k2));
    assert.notEqual(await records.read(k2), null);
  });

  test('a record for another key cannot be written under this one', async () => {
    const k = key();
    await assert.rejects(
      records.update(k, () => record(key())),
      /cannot be stored/,
    );
    // The lock was released: the next update does not wait for it.
    const started = Date.now();
    await records.update(k, () => record(k));
    assert.ok(Date.now() - started < 500);
  });

  test('a throwing update function rejects, writes nothing and releases the lock', async () => {
    const k = key();
    await assert.rejects(
      records.update(k, () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await records.read(k), null);
    await idle();
    assert.ok(!(await present(`${volume.recordLockPath(k)}.lock`)));
  });

  test('20 concurrent updates all land (the lock serialises them)', async () => {
    const k = key();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        records.update(k, (current) => record(k, { size: (current?.size ?? 0) + 1 })),
      ),
    );
    assert.equal((await records.read(k))?.size, 20);
    await idle();
    assert.ok(!(await present(`${volume.recordLockPath(k)}.lock`)));
  });

  test('200 concurrent updates of one key are batched in order; a throwing one fails alone', async () => {
    const k = key();
    const updates = Array.from({ length: 200 }, (_, i) =>
      records.update(k, (current) => {
        if (i === 50) throw new Error('this one');
        return record(k, { size: (current?.size ?? 0) + 1 });
      }),
    );
    const settled = await Promise.allSettled(updates);
    const sizes = settled.map((r) => (r.status === 'fulfilled' ? r.value?.size : 'rejected'));
    const expected = Array.from({ length: 200 }, (_, i) => (i === 50 ? 'rejected' : i < 50 ? i + 1 : i));
    assert.deepEqual(sizes, expected, 'each update saw the ones queued before it');
    assert.equal((await records.read(k))?.size, 199);
    await idle();
    assert.ok(!(await present(`${volume.recordLockPath(k)}.lock`)));
  });

  test('a removal and a record made before it, in one batch: the removal wins', async () => {
    const k = key();
    await records.update(k, () => record(k));
    const [removed, stale] = await Promise.all([
      records.update(k, () => null),
      records.update(k, () =>
        record(k, { createdAt: Date.now() - 60_000, validatedGet: Date.now() - 60_000 }),
      ),
    ]);
    assert.equal(removed, null);
    assert.equal(stale, null, 'an answer older than the removal brings nothing back');
    assert.equal(await records.read(k), null);
  });

  test('concurrent updates of different keys do not disturb each other’s locks', async () => {
    const keys = Array.from({ length: 10 }, () => key());
    await Promise.all(
      keys.flatMap((k) =>
        Array.from({ length: 5 }, () =>
          records.update(k, (current) => record(k, { size: (current?.size ?? 0) + 1 })),
        ),
      ),
    );
    for (const k of keys) assert.equal((await records.read(k))?.size, 5);
    await idle();
    for (const k of keys) assert.ok(!(await present(`${volume.recordLockPath(k)}.lock`)));
  });

  test('a stale lock (a crashed holder) is taken over', async () => {
    const k = key();
    const lockDir = `${volume.recordLockPath(k)}.lock`;
    await mkdir(lockDir, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);
    const started = Date.now();
    await records.update(k, () => record(k));
    assert.ok(Date.now() - started < 1000);
    assert.notEqual(await records.read(k), null);
    await idle();
    assert.ok(!(await present(lockDir)));
  });

  test('a held lock times out with RecordLockError and nothing is written', async () => {
    const k = key();
    const lockDir = `${volume.recordLockPath(k)}.lock`;
    await mkdir(lockDir, { recursive: true });
    let called = false;
    await assert.rejects(
      records.update(k, () => {
        called = true;
        return record(k);
      }),
      RecordLockError,
    );
    assert.equal(called, false);
    assert.equal(await records.read(k), null);
    assert.ok(await present(lockDir)); // someone else's lock is left alone
    await rm(lockDir, { recursive: true });
  });

  test('an update waits for its `ready` to settle (rejected or not) before it writes', async () => {
    const k = key();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let applied = false;
    const updated = records.update(
      k,
      () => {
        applied = true;
        return record(k);
      },
      gate,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(applied, false);
    assert.equal(await records.read(k), null, 'nothing written while `ready` is pending');
    open();
    assert.notEqual(await updated, null);
    assert.notEqual(await records.read(k), null);

    const failed = Promise.reject(new Error('announcement failed'));
    const next = await records.update(k, (current) => record(k, { size: (current?.size ?? 0) + 1 }), failed);
    assert.equal(next?.size, 1, 'a `ready` that rejects does not fail the update');
  });

  test('a lock whose directory maintenance removed is taken all the same', async () => {
    const k = key();
    await records.update(k, () => record(k));
    await idle();
    await rm(dirname(volume.recordLockPath(k)), { recursive: true });
    assert.notEqual(await records.update(k, () => record(k, { size: 3 })), null);
    assert.equal((await records.read(k))?.size, 3);
  });

  test('updates leave no temp files', async () => {
    assert.deepEqual(await readdir(volume.tmpDir), []);
  });
});
