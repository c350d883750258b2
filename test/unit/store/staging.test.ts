// Upload staging on a real volume: part files published by ETag and checked by CRC32 on the way out,
// staged versions renamed into place, and upload ids that cannot become paths refused.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChunkStore } from '../../../src/store/chunks.js';
import { UploadStaging } from '../../../src/store/upload-staging.js';
import { VersionStaging } from '../../../src/store/version-staging.js';
import { openVolume, type Volume, VolumeError } from '../../../src/store/volume.js';

const CELL = 64 * 1024;
let root: string;
let volume: Volume;
let uploads: UploadStaging;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-staging-'));
  volume = await openVolume({ dir: root, chunkSize: CELL });
  uploads = new UploadStaging(volume);
});
after(() => rm(root, { recursive: true, force: true }));

async function readAll(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

describe('multipart staging', () => {
  const meta = {
    namespace: 'aws',
    bucket: 'bkt',
    key: 'k',
    headers: [['content-type', 'text/plain']] as [string, string][],
    createdAt: 1,
  };

  test('keeps the upload, and a part by its ETag; a re-sent part number replaces the earlier one', async () => {
    await uploads.saveUpload('up-1', meta);
    assert.deepEqual(await uploads.readUpload('up-1'), meta);
    const first = randomBytes(100_000);
    const w1 = uploads.partWriter('up-1', 1);
    w1.write(first.subarray(0, 30_000));
    w1.write(first.subarray(30_000));
    assert.equal(await w1.publish('"etag-one"', first.length), true);
    const found = await uploads.findPart('up-1', 1, 'etag-one');
    assert.ok(found, 'found with or without quotes');
    assert.ok((await readAll(uploads.readPart(found))).equals(first));

    const second = randomBytes(5000);
    const w2 = uploads.partWriter('up-1', 1);
    w2.write(second);
    assert.equal(await w2.publish('"etag-two"', second.length), true);
    assert.equal(await uploads.findPart('up-1', 1, '"etag-one"'), null, 'the earlier part is gone');
    const part = await uploads.findPart('up-1', 1, '"etag-two"');
    assert.ok(part && (await readAll(uploads.readPart(part))).equals(second));
    assert.deepEqual((await readdir(volume.uploadDir('up-1'))).sort().length, 2, 'upload.json and one part');
  });

  test('a part of the wrong length is not published; an abandoned one leaves no temp file', async () => {
    const w = uploads.partWriter('up-2', 1);
    w.write(Buffer.alloc(10));
    assert.equal(await w.publish('"e"', 11), false);
    assert.match(w.failed ?? '', /10 bytes staged, 11 expected/);
    const a = uploads.partWriter('up-2', 2);
    a.write(Buffer.alloc(10));
    a.abandon('test');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await readdir(volume.tmpDir), []);
    assert.equal(await uploads.findPart('up-2', 1, '"e"'), null);
  });

  test('a staged part whose bytes changed is refused when read back', async () => {
    const w = uploads.partWriter('up-3', 1);
    const bytes = randomBytes(4096);
    w.write(bytes);
    await w.publish('"c"', bytes.length);
    const part = await uploads.findPart('up-3', 1, '"c"');
    assert.ok(part);
    const flipped = Buffer.from(bytes);
    flipped[100] = (flipped[100] as number) ^ 1;
    await writeFile(part.path, flipped);
    await assert.rejects(readAll(uploads.readPart(part)), /corrupt/);
  });

  test('remove drops the whole upload', async () => {
    await uploads.saveUpload('up-4', meta);
    await uploads.remove('up-4');
    assert.equal(await uploads.readUpload('up-4'), null);
  });

  test('upload ids that are not one safe path component are refused before any file is touched', async () => {
    for (const id of ['../x', 'a/b', 'x\0y', '..', '.', '']) {
      assert.throws(() => volume.uploadDir(id), VolumeError);
      await assert.rejects(uploads.saveUpload(id, meta), VolumeError);
      await assert.rejects(uploads.remove(id), VolumeError);
      assert.throws(() => uploads.partWriter(id, 1), VolumeError);
    }
  });
});

describe('version staging', () => {
  test('staged chunks become the version on publish, readable by the chunk store', async () => {
    const chunks = new ChunkStore(volume);
    const staging = new VersionStaging(volume);
    const a = randomBytes(CELL);
    const b = randomBytes(1000);
    const v = { namespace: 'aws', bucket: 'bkt', key: 'staged', etag: '"v1"' };
    await staging.write(v, 0, CELL, [{ start: 0, bytes: a }], 'lz4');
    await staging.write(v, 1, 1000, [{ start: 0, bytes: b }], 'raw');
    await staging.publish(v);
    assert.ok((await chunks.read(v, 0, CELL))?.pieces[0]?.bytes.equals(a));
    assert.ok((await chunks.read(v, 1, 1000))?.pieces[0]?.bytes.equals(b));
    assert.deepEqual(await readdir(volume.tmpDir), []);
  });

  test('publishing where a reader already cached some chunks adds the missing ones', async () => {
    const chunks = new ChunkStore(volume);
    const v = { namespace: 'aws', bucket: 'bkt', key: 'raced', etag: '"v1"' };
    const a = randomBytes(CELL);
    const b = randomBytes(CELL);
    await chunks.write(v, 0, CELL, [{ start: 0, bytes: a }], 'raw');
    const staging = new VersionStaging(volume);
    await staging.write(v, 0, CELL, [{ start: 0, bytes: a }], 'raw');
    await staging.write(v, 1, CELL, [{ start: 0, bytes: b }], 'raw');
    await staging.publish(v);
    assert.ok((await chunks.read(v, 1, CELL))?.pieces[0]?.bytes.equals(b));
    assert.ok((await chunks.read(v, 0, CELL))?.pieces[0]?.bytes.equals(a));
    assert.deepEqual(await readdir(volume.tmpDir), []);
  });

  test('discard leaves nothing', async () => {
    const staging = new VersionStaging(volume);
    await staging.write(
      { namespace: 'aws', bucket: 'bkt', key: 'x', etag: '' },
      0,
      10,
      [{ start: 0, bytes: Buffer.alloc(10) }],
      'raw',
    );
    await staging.discard();
    assert.deepEqual(await readdir(volume.tmpDir), []);
  });
});
