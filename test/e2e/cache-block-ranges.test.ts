// Range hits read from the volume only the checksummed blocks that hold their bytes (src/store/chunk-file.ts,
// src/cache/read/cached-body.ts): byte-exact to the origin, damage in a block they read is a miss that S3
// answers and the chunk is written again, and with the RAM tier on a chunk read in ranges goes into RAM
// the second time, not the first.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BLOCK_BYTES, chunkHeaderLength } from '../../src/store/chunk-file.js';
import { expectedRange, presignedGet, prng } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { listFiles } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const CELL = 1024 * 1024;
const BODY = randomBytes(3 * CELL + 54_321);

let origin: MemoryOrigin;
/** RAM tier off: every hit reads the volume. */
let kura: TestKura;
/** The full chunk files of BODY under `kura`, by cell index. */
let chunks: Map<number, string>;

before(async () => {
  origin = await startMemoryOrigin();
  origin.put(BUCKET, 'blocks/table.bin', BODY);
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.get_ttl': '1d', 'cache.ram_size': '0B' },
  });
  chunks = await fill(kura, 'blocks/table.bin', BODY);
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** Reads `key` whole through `k` (a MISS) and waits for its full chunk files; returns them by cell index. */
async function fill(k: TestKura, key: string, body: Buffer): Promise<Map<number, string>> {
  const r = await presignedGet(k.url, BUCKET, key);
  assert.equal(r.xCache, 'MISS');
  assert.ok(r.body.equals(body));
  const cells = Math.ceil(body.length / CELL);
  for (let i = 0; i < 200; i++) {
    const files = (await listFiles(k.dir, 'data')).filter((f) => /\/\d+$/.test(f));
    if (files.length === cells) {
      return new Map(files.map((f) => [Number(f.slice(f.lastIndexOf('/') + 1)), `${k.dir}/${f}`]));
    }
    await sleep(25);
  }
  throw new Error(`${key}: its ${cells} chunk files were not written`);
}

async function range(k: TestKura, key: string, spec: string) {
  const r = await presignedGet(k.url, BUCKET, key, { range: spec });
  const want = expectedRange(BODY.length, spec);
  assert.ok(want);
  assert.equal(r.status, 206, spec);
  assert.equal(r.contentRange, `bytes ${want.start}-${want.end}/${BODY.length}`, spec);
  assert.ok(r.body.equals(BODY.subarray(want.start, want.end + 1)), `${spec}: the origin's bytes`);
  return r;
}

test('ranges from the volume are hits, byte-exact, at any offset and length', async () => {
  const from = origin.requests.length;
  const specs = ['bytes=0-0', `bytes=${BLOCK_BYTES - 1}-${BLOCK_BYTES}`, 'bytes=-1', 'bytes=-70000'];
  specs.push(`bytes=${CELL - 100}-${CELL + 100}`, `bytes=${3 * CELL}-`);
  const next = prng(7);
  for (let i = 0; i < 40; i++) {
    const start = Math.floor(next() * BODY.length);
    const length = 1 + Math.floor(next() * 200_000);
    specs.push(`bytes=${start}-${Math.min(BODY.length - 1, start + length - 1)}`);
  }
  for (const spec of specs) assert.equal((await range(kura, 'blocks/table.bin', spec)).xCache, 'HIT', spec);
  assert.equal(origin.requests.length, from, 'nothing asked of S3');
});

test('damage in a block a range does not read goes unseen; in one it reads, S3 answers and the chunk is rewritten', async () => {
  const path = chunks.get(1) as string;
  const good = await readFile(path);
  const damaged = Buffer.from(good);
  const at = chunkHeaderLength(1, CELL) + 9 * BLOCK_BYTES + 1000;
  damaged.writeUInt8((damaged[at] as number) ^ 0x04, at);
  await writeFile(`${path}.planted`, damaged);
  await rename(`${path}.planted`, path);
  const corruptBefore = (await kura.cacheStats()).corruptChunks;

  // Block 2 of cell 1: read and verified alone, a hit; the damaged file is not touched.
  const elsewhere = await range(
    kura,
    'blocks/table.bin',
    `bytes=${CELL + 2 * BLOCK_BYTES}-${CELL + 3 * BLOCK_BYTES - 1}`,
  );
  assert.equal(elsewhere.xCache, 'HIT');
  assert.ok((await readFile(path)).equals(damaged));

  // Block 9: its CRC fails, the file is removed, and S3 answers the bytes.
  const from = origin.requests.length;
  const spec = `bytes=${CELL + 9 * BLOCK_BYTES}-${CELL + 9 * BLOCK_BYTES + 4095}`;
  const hurt = await range(kura, 'blocks/table.bin', spec);
  assert.notEqual(hurt.xCache, 'HIT');
  assert.ok(origin.requests.length > from, 'S3 was asked');
  assert.equal((await kura.cacheStats()).corruptChunks, corruptBefore + 1);
  for (let i = 0; i < 200 && !(await readFile(path).catch(() => Buffer.alloc(0))).equals(good); i++) {
    await sleep(25);
  }
  assert.ok((await readFile(path)).equals(good), 'the chunk was written again, whole and sound');
  assert.equal((await range(kura, 'blocks/table.bin', spec)).xCache, 'HIT');
});

test('with the RAM tier on, a chunk read in ranges goes into RAM on its second range read', async () => {
  const warm = await startTestKura({
    origin: origin.url,
    settings: { 'cache.get_ttl': '1d', 'cache.ram_size': '64MiB' },
  });
  try {
    origin.put(BUCKET, 'blocks/other.bin', BODY);
    await fill(warm, 'blocks/other.bin', BODY);
    const spec = `bytes=${2 * CELL + 5000}-${2 * CELL + 70_000}`;
    const ramBytes = async () => (await warm.cacheStats()).bytesFromRam;
    const get = async () => {
      const r = await presignedGet(warm.url, BUCKET, 'blocks/other.bin', { range: spec });
      assert.equal(r.xCache, 'HIT');
      assert.ok(r.body.equals(BODY.subarray(2 * CELL + 5000, 2 * CELL + 70_001)));
    };
    let before = await ramBytes();
    await get();
    assert.equal((await ramBytes()) - before, 0, 'the first range read is from the volume');
    before = await ramBytes();
    await get();
    assert.equal((await ramBytes()) - before, 0, 'the second reads the chunk whole, into RAM');
    before = await ramBytes();
    await get();
    assert.equal((await ramBytes()) - before, 65_001, 'the third is from RAM');
  } finally {
    await warm.close();
  }
});
