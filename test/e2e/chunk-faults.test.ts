// Damaged or misplaced chunk files never serve a wrong byte. Every bit of a cached chunk's header is
// flipped in turn: each flip is refused by `kura cache verify`, and a GET through the running Kura answers
// the origin's bytes whole. A sound chunk of another object, copied in place of one of this object's, is
// refused the same way: chunk headers name the version they belong to.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { headerLengthOf } from '../../src/store/chunk-file.js';
import { verifyVolume } from '../../src/store/verify.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { listFiles } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const CELL = 64 * 1024;
/** Three cells, the last one short; and a second object of the same shape. */
const BODY = randomBytes(2 * CELL + 4321);
const OTHER = randomBytes(2 * CELL + 4321);

let origin: MemoryOrigin;
let kura: TestKura;
/** The chunk files of each object, by cell index. */
let chunksOfA: Map<number, string>;
let chunksOfB: Map<number, string>;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'cache.get_ttl': '1d', 'cache.ram_size': '0B' },
  });
  origin.put(BUCKET, 'faults/a.bin', BODY);
  origin.put(BUCKET, 'faults/b.bin', OTHER);
  chunksOfA = await cache('faults/a.bin', BODY);
  chunksOfB = await cache('faults/b.bin', OTHER);
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** Reads `key` through Kura, asserting the origin's bytes, whole. */
async function readWhole(key: string, body: Buffer): Promise<string | undefined> {
  const r = await sdkGet(sdkClient(kura.url), BUCKET, key);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, body.length, `${key}: every byte`);
  assert.ok(r.body.equals(body), `${key}: byte-exact`);
  return r.xCache;
}

/** Reads `key` cold through Kura and returns the chunk files the fill wrote, by cell index. */
async function cache(key: string, body: Buffer): Promise<Map<number, string>> {
  const before = new Set(await listFiles(kura.dir));
  await readWhole(key, body);
  const cells = Math.ceil(body.length / CELL);
  for (let i = 0; i < 200; i++) {
    const added = (await listFiles(kura.dir)).filter((f) => !before.has(f) && /^data\/.*\/\d+$/.test(f));
    if (added.length === cells) {
      return new Map(added.map((f) => [Number(f.slice(f.lastIndexOf('/') + 1)), join(kura.dir, f)]));
    }
    await sleep(10);
  }
  assert.fail(`the fill of ${key} did not write its ${cells} chunks`);
}

/** Puts `file` at `path` as a rename would (a new inode). */
async function plant(path: string, file: Buffer): Promise<void> {
  await writeFile(`${path}.planted`, file);
  await rename(`${path}.planted`, path);
}

test('every single-bit flip of a chunk header is refused by verify and never served', async () => {
  const path = chunksOfA.get(1) as string;
  const good = await readFile(path);
  const headerBits = headerLengthOf(good) * 8;
  // verify over every bit; a GET over every 16th bit (each a refetch from the origin).
  for (let bit = 0; bit < headerBits; bit++) {
    const damaged = Buffer.from(good);
    damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
    await plant(path, damaged);
    const report = await verifyVolume(kura.dir);
    assert.deepEqual(report.corruptChunks, [path], `bit ${bit}: verify names the chunk`);
    if (bit % 16 === 0) {
      await readWhole('faults/a.bin', BODY);
      // The read removed the damaged file and wrote a good one again.
      for (let i = 0; i < 200 && !(await readFile(path).catch(() => Buffer.alloc(0))).equals(good); i++) {
        await sleep(10);
      }
    }
  }
  await plant(path, good);
  assert.deepEqual((await verifyVolume(kura.dir)).corruptChunks, []);
});

test('a sound chunk of another object put in place of one of this object is refused', async () => {
  const target = chunksOfA.get(0) as string;
  await copyFile(chunksOfB.get(0) as string, target);
  assert.ok((await verifyVolume(kura.dir)).corruptChunks.includes(target), 'verify names the copied chunk');
  const corrupt = (await kura.cacheStats()).corruptChunks;
  const xCache = await readWhole('faults/a.bin', BODY);
  assert.notEqual(xCache, 'HIT', 'S3 supplied the bytes of the refused chunk');
  assert.equal((await kura.cacheStats()).corruptChunks, corrupt + 1);
  await readWhole('faults/b.bin', OTHER);
});
