// Where a cached object's bytes live and how they are stored: the codec of each chunk file a read fill
// writes (LZ4 for compressible bytes, raw for random ones and for formats file-type recognises as
// compressed from the first chunk, src/store/compression.ts), and hits served from the RAM tier without
// touching the chunk files (src/cache/read/cached-body.ts), which takes a chunk (or a partial chunk's
// extents) when it is read again, never from a fill (src/cache/chunk-sink.ts).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { presignedGet, sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { listFiles } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const CHUNK = 64 * 1024;
/** Byte 5 of a chunk file: its codec (src/store/chunk-file.ts). */
const CODEC_AT = 5;
const CODEC = { raw: 0, lz4: 1 } as const;

let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({ origin: origin.url, settings: { 'cache.chunk_size': '64KiB' } });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** Text that LZ4 shrinks several times over, different on every call. */
function compressible(size: number): Buffer {
  const words = [
    'sensor',
    'reading',
    'value',
    'ok',
    'timestamp',
    'region',
    'eu-west-1',
    randomBytes(4).toString('hex'),
  ];
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${i},${words[i % words.length]},${words[(i * 7) % words.length]},${i % 97}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

/**
 * GETs the object through Kura (a MISS that fills), then waits for its `cells` chunk files, written
 * after the answer, and returns them as absolute paths.
 */
async function fillAndFindChunks(key: string, body: Buffer, cells: number): Promise<string[]> {
  const before = new Set(await listFiles(kura.dir, 'data'));
  const r = await presignedGet(kura.url, BUCKET, key);
  assert.equal(r.status, 200);
  assert.equal(r.xCache, 'MISS');
  assert.ok(r.body.equals(body), 'the fill answers the origin bytes');
  for (let i = 0; i < 200; i++) {
    const added = (await listFiles(kura.dir, 'data')).filter((f) => !before.has(f));
    if (added.length >= cells) {
      assert.equal(added.length, cells, `new chunk files: ${added.join(', ')}`);
      return added.map((f) => join(kura.dir, f));
    }
    await sleep(25);
  }
  throw new Error(`${key}: its ${cells} chunk files were not written within 5 s`);
}

async function codecsOf(files: string[]): Promise<number[]> {
  return Promise.all(files.map(async (f) => (await readFile(f))[CODEC_AT] as number));
}

test('a compressible object read with GET is stored LZ4-compressed, and its hits are byte-exact', async () => {
  const body = compressible(3 * CHUNK + 500);
  origin.put(BUCKET, 'tiers/readings.csv', body);
  const files = await fillAndFindChunks('tiers/readings.csv', body, 4);
  assert.deepEqual(await codecsOf(files), [CODEC.lz4, CODEC.lz4, CODEC.lz4, CODEC.lz4]);
  const stored = (await Promise.all(files.map((f) => readFile(f)))).reduce((n, b) => n + b.length, 0);
  assert.ok(stored < body.length / 2, `${stored} bytes on the volume for ${body.length}`);
  await kura.dropRam();
  const hit = await presignedGet(kura.url, BUCKET, 'tiers/readings.csv');
  assert.equal(hit.xCache, 'HIT');
  assert.ok(hit.body.equals(body));
});

test('random bytes under a name that says nothing are stored raw: LZ4 did not shrink the sample', async () => {
  const body = randomBytes(2 * CHUNK);
  origin.put(BUCKET, 'tiers/blob', body);
  const files = await fillAndFindChunks('tiers/blob', body, 2);
  assert.deepEqual(await codecsOf(files), [CODEC.raw, CODEC.raw]);
});

test('a first chunk that file-type sniffs as gzip makes the object raw, though LZ4 would shrink it', async () => {
  // gzip's magic bytes before compressible text: neither the name nor the content type tells, and LZ4
  // shrinks the sample; only the sniff of the first chunk says "already compressed".
  const body = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]),
    compressible(2 * CHUNK),
  ]);
  origin.put(BUCKET, 'tiers/archive-without-extension', body, { contentType: 'application/octet-stream' });
  const files = await fillAndFindChunks('tiers/archive-without-extension', body, 3);
  assert.deepEqual(await codecsOf(files), [CODEC.raw, CODEC.raw, CODEC.raw]);
});

test('a hit in the RAM tier is served without its chunk files', async () => {
  const body = randomBytes(3 * CHUNK + 10);
  origin.put(BUCKET, 'tiers/hot.bin', body);
  const files = await fillAndFindChunks('tiers/hot.bin', body, 4);
  // A hit read from the volume puts the chunks in RAM.
  const warm = await presignedGet(kura.url, BUCKET, 'tiers/hot.bin');
  assert.equal(warm.xCache, 'HIT');
  assert.ok(warm.body.equals(body));
  for (const f of files) await rm(f);
  const fromRamBefore = (await kura.cacheStats()).bytesFromRam;
  const from = origin.requests.length;
  const hot = await presignedGet(kura.url, BUCKET, 'tiers/hot.bin');
  assert.equal(hot.status, 200);
  assert.equal(hot.xCache, 'HIT');
  assert.ok(hot.body.equals(body), 'the RAM tier holds the exact bytes');
  assert.deepEqual(
    origin.requests.slice(from).map((r) => `${r.method} ${r.rawUrl.split('?')[0]}`),
    [],
    'nothing was asked of S3',
  );
  assert.equal((await kura.cacheStats()).bytesFromRam - fromRamBefore, body.length, 'every byte from RAM');
});

test('a fill keeps nothing in RAM: the first hit reads the volume and puts the chunks in RAM for the next', async () => {
  const body = randomBytes(3 * CHUNK + 10);
  origin.put(BUCKET, 'tiers/twice.bin', body);
  await fillAndFindChunks('tiers/twice.bin', body, 4);
  let fromRam = (await kura.cacheStats()).bytesFromRam;
  const first = await presignedGet(kura.url, BUCKET, 'tiers/twice.bin');
  assert.equal(first.xCache, 'HIT');
  assert.ok(first.body.equals(body));
  assert.equal((await kura.cacheStats()).bytesFromRam - fromRam, 0, 'the first hit reads the volume');
  fromRam = (await kura.cacheStats()).bytesFromRam;
  const second = await presignedGet(kura.url, BUCKET, 'tiers/twice.bin');
  assert.ok(second.body.equals(body));
  assert.equal((await kura.cacheStats()).bytesFromRam - fromRam, body.length, 'the second hit is from RAM');
});

test('the extents of signed Range fills (a partial chunk) go into RAM when read again, and answer only what they hold', async () => {
  const body = randomBytes(3 * CHUNK + 10);
  origin.put(BUCKET, 'tiers/footer.parquet', body);
  const client = sdkClient(kura.url);
  const [start, end] = [CHUNK - 6000, CHUNK - 1];
  const range = `bytes=${start}-${end}`;
  const before = new Set(await listFiles(kura.dir, 'data'));
  const fill = await sdkGet(client, BUCKET, 'tiers/footer.parquet', range);
  assert.equal(fill.xCache, 'MISS');
  let partial: string[] = [];
  for (let i = 0; i < 200 && partial.length === 0; i++) {
    partial = (await listFiles(kura.dir, 'data')).filter((f) => !before.has(f));
    if (partial.length === 0) await sleep(25);
  }
  assert.equal(partial.length, 1, 'one partial chunk file');
  // The first hit reads the blocks it needs; the second reads the file and keeps its extents in RAM.
  for (let i = 0; i < 2; i++) {
    const hit = await sdkGet(client, BUCKET, 'tiers/footer.parquet', range);
    assert.equal(hit.xCache, 'HIT');
    assert.ok(hit.body.equals(body.subarray(start, end + 1)));
  }
  await rm(join(kura.dir, partial[0] as string));
  const fromRam = (await kura.cacheStats()).bytesFromRam;
  const from = origin.requests.length;
  const hot = await sdkGet(client, BUCKET, 'tiers/footer.parquet', range);
  assert.equal(hot.xCache, 'HIT');
  assert.ok(hot.body.equals(body.subarray(start, end + 1)), 'the RAM tier holds the exact bytes');
  assert.equal(origin.requests.length, from, 'nothing was asked of S3');
  assert.equal((await kura.cacheStats()).bytesFromRam - fromRam, end + 1 - start);
  // Bytes of the same chunk outside the extents are not in RAM: S3 is asked, and its bytes answer.
  const other = await sdkGet(client, BUCKET, 'tiers/footer.parquet', 'bytes=100-4000');
  assert.equal(other.xCache, 'MISS');
  assert.ok(other.body.equals(body.subarray(100, 4001)));
  assert.equal(origin.requests.length, from + 1);
});

test('objects read once, many times the RAM tier, leave the chunks read again in RAM', async () => {
  // A tier of 16 chunks; the scan below fills 40.
  const small = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'cache.ram_size': `${16 * 64}KiB` },
  });
  try {
    const hot = randomBytes(3 * CHUNK);
    origin.put(BUCKET, 'scan/hot.bin', hot);
    for (let i = 0; i < 2; i++) {
      const r = await presignedGet(small.url, BUCKET, 'scan/hot.bin');
      assert.ok(r.body.equals(hot));
    }
    for (let i = 0; i < 10; i++) {
      const body = randomBytes(4 * CHUNK);
      origin.put(BUCKET, `scan/once-${i}.bin`, body);
      const r = await presignedGet(small.url, BUCKET, `scan/once-${i}.bin`);
      assert.equal(r.xCache, 'MISS');
      assert.ok(r.body.equals(body));
    }
    const fromRam = (await small.cacheStats()).bytesFromRam;
    const r = await presignedGet(small.url, BUCKET, 'scan/hot.bin');
    assert.equal(r.xCache, 'HIT');
    assert.ok(r.body.equals(hot));
    assert.equal(
      (await small.cacheStats()).bytesFromRam - fromRam,
      hot.length,
      'the hot object is still in RAM',
    );
  } finally {
    await small.close();
  }
});

test('a whole read of many chunks finds which the volume lacks before its head: only those come from S3, and X-Cache says so', async () => {
  // Past the first 16 cells, which are read before the head (READ_AHEAD_CELLS in cached-body.ts).
  const cells = 40;
  const body = randomBytes(cells * CHUNK - 100);
  origin.put(BUCKET, 'tiers/many.bin', body);
  const files = await fillAndFindChunks('tiers/many.bin', body, cells);
  await kura.dropRam();
  let from = origin.requests.length;
  const whole = await presignedGet(kura.url, BUCKET, 'tiers/many.bin');
  assert.equal(whole.xCache, 'HIT');
  assert.ok(whole.body.equals(body));
  assert.equal(origin.requests.length, from, 'every chunk was on the volume');

  for (const f of files.filter((f) => /\/(25|31)$/.test(f))) await rm(f);
  await kura.dropRam();
  from = origin.requests.length;
  const partial = await presignedGet(kura.url, BUCKET, 'tiers/many.bin');
  assert.equal(partial.status, 200);
  assert.equal(partial.xCache, 'PARTIAL', 'S3 brought some of the bytes: not a HIT');
  assert.ok(partial.body.equals(body), 'byte-exact');
  const asked = origin.requests.slice(from).map((r) => {
    const i = r.rawHeaders.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === 'range');
    return i < 0 ? null : r.rawHeaders[i + 1];
  });
  assert.ok(asked.length > 0 && asked.length <= 2, `ranges asked: ${asked.join(', ')}`);
  for (const range of asked) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    assert.ok(m, `a ranged fetch: ${range}`);
    assert.ok(Number(m[1]) >= 25 * CHUNK && Number(m[2]) < 32 * CHUNK, `only the cells missing: ${range}`);
  }
});
