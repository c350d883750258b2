// Property-style: thousands of random ranges (bounded, open-ended, suffix) over objects whose sizes sit
// on and around the chunk grid, read through Kura with signed (SDK) and unsigned (presigned) Ranges
// after random earlier reads warmed parts of them. Every answer must be byte-exact; a second pass over
// the same ranges must be served without asking the origin at all.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectedRange, presignedGet, prng, type Read, sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { originIsRgw } from '../support/origin.js';
import { type RgwOrigin, startRgwOrigin } from '../support/rgw-origin.js';

const BUCKET = 'kura-test';
const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 10 * CHUNK + 7];
// Fewer against RGW (KURA_TEST_ORIGIN=rgw), whose answers take longer: the same kinds of range still occur.
const REQUESTS = originIsRgw() ? 500 : 2000;

let origin: MemoryOrigin | RgwOrigin;
let kura: TestKura;
const bodies = new Map<string, Buffer>();

before(async () => {
  // KURA_TEST_ORIGIN=rgw (test/e2e/rgw-suite.test.ts): the same ranges against Ceph RGW.
  origin = originIsRgw() ? await startRgwOrigin() : await startMemoryOrigin();
  kura = await startTestKura({ origin: origin.url, settings: { 'cache.chunk_size': '64KiB' } });
  for (const size of SIZES) {
    const key = `ranges/object-${size}.bin`;
    const body = randomBytes(size);
    await origin.put(BUCKET, key, body, { contentType: 'application/octet-stream' });
    bodies.set(key, body);
  }
});

after(async () => {
  await kura?.close();
  await origin?.close();
});

function randomRange(next: () => number, size: number): string {
  const span = Math.max(size, 1) + 2;
  const pick = () => Math.floor(next() * span);
  const kind = next();
  if (kind < 0.2) return `bytes=-${1 + pick()}`;
  if (kind < 0.35) return `bytes=${pick()}-`;
  const a = pick();
  // Mostly short reads (like Parquet column chunks), sometimes long ones across many chunks.
  const length = next() < 0.7 ? Math.floor(next() * CHUNK * 1.5) : Math.floor(next() * span);
  return `bytes=${a}-${a + length}`;
}

function check(read: Read, body: Buffer, range: string, where: string): void {
  const want = expectedRange(body.length, range);
  if (want === null) {
    assert.equal(read.status, 416, `${where}: expected 416`);
    return;
  }
  assert.equal(read.status, 206, `${where}: status`);
  assert.equal(
    read.contentRange,
    `bytes ${want.start}-${want.end}/${body.length}`,
    `${where}: Content-Range`,
  );
  assert.ok(read.body.equals(body.subarray(want.start, want.end + 1)), `${where}: bytes differ`);
}

test('random ranges over warm and cold chunks are byte-exact, and a second pass never asks the origin', async () => {
  const client = sdkClient(kura.url);
  const next = prng(20261121);
  const keys = [...bodies.keys()];
  const plan: { key: string; range: string; signed: boolean }[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const key = keys[Math.floor(next() * keys.length)] as string;
    plan.push({ key, range: randomRange(next, (bodies.get(key) as Buffer).length), signed: next() < 0.5 });
  }
  const read = (p: (typeof plan)[number]) =>
    p.signed
      ? sdkGet(client, BUCKET, p.key, p.range)
      : presignedGet(kura.url, BUCKET, p.key, { range: p.range });

  const xCache: Record<string, number> = {};
  for (const [i, p] of plan.entries()) {
    const r = await read(p);
    check(
      r,
      bodies.get(p.key) as Buffer,
      p.range,
      `#${i} ${p.key} ${p.range} ${p.signed ? 'signed' : 'unsigned'}`,
    );
    xCache[r.xCache ?? 'none'] = (xCache[r.xCache ?? 'none'] ?? 0) + 1;
  }
  // Every kind of answer happened: whole hits, partial fills of unsigned ranges, misses.
  assert.ok((xCache.HIT ?? 0) > REQUESTS / 4, `hits: ${JSON.stringify(xCache)}`);
  assert.ok((xCache.PARTIAL ?? 0) > 0, `partial: ${JSON.stringify(xCache)}`);
  assert.ok((xCache.MISS ?? 0) > 0, `misses: ${JSON.stringify(xCache)}`);

  const before = origin.requests.length;
  for (const [i, p] of plan.entries()) {
    const r = await read(p);
    check(r, bodies.get(p.key) as Buffer, p.range, `second pass #${i} ${p.key} ${p.range}`);
    if (r.status === 206) assert.equal(r.xCache, 'HIT', `second pass #${i} ${p.key} ${p.range}`);
  }
  // 416s are S3's to answer; everything else came from the volume.
  const asked = origin.requests.slice(before);
  assert.ok(
    asked.every((r) => r.status === 416),
    `the origin was asked again: ${asked.map((r) => `${r.status} ${r.rawUrl.split('?')[0]}`).join(', ')}`,
  );
});
