// A client that stops reading must not hold back anyone else: the fill it started goes on at the origin's
// pace, a second reader of the same cold object gets every byte while the first still reads nothing, and
// the first, once it reads again, gets every byte too (from the cache, where the fill left them). A
// client that reads, only slower than the origin sends, holds the fill back instead: it gets the live
// answer to the end, and every chunk is written once.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { presign, s3Path } from '../support/signing.js';

const BUCKET = 'kura-test';
const MiB = 2 ** 20;

let origin: MemoryOrigin;

before(async () => {
  // A first-byte delay and a bandwidth cap, so that the fill is still under way when the second reader comes.
  origin = await startMemoryOrigin({ firstByteLatencyMs: 20, bandwidthBytesPerSec: 64 * MiB });
});
after(() => origin?.close());

/** Reads a GET's body at no more than `bytesPerSec`; resolves to the head's fields and the body. */
async function throttledGet(url: string, bytesPerSec: number) {
  const req = get(url);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const parts: Buffer[] = [];
  let got = 0;
  const started = performance.now();
  res.on('data', (c: Buffer) => {
    parts.push(c);
    got += c.length;
    const ahead = (got / bytesPerSec) * 1000 - (performance.now() - started);
    if (ahead > 5) {
      res.pause();
      setTimeout(() => res.resume(), ahead);
    }
  });
  await once(res, 'end');
  assert.ok(res.complete, 'the answer was cut short');
  return { status: res.statusCode, xCache: res.headers['x-cache'], body: Buffer.concat(parts) };
}

/** Starts a GET whose body nobody reads until `drain` is called; resolves once the head has arrived. */
async function stalledGet(baseUrl: string, key: string) {
  const target = await presign(baseUrl, { method: 'GET', path: s3Path(BUCKET, key) });
  const req = get(`${baseUrl}${target}`);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.pause();
  return {
    status: res.statusCode,
    xCache: res.headers['x-cache'],
    /** Reads the rest of the body. */
    async drain(): Promise<Buffer> {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.resume();
      await once(res, 'end');
      assert.ok(res.complete, 'the first reader’s answer was cut short');
      return Buffer.concat(parts);
    },
  };
}

for (const [name, ttl] of [
  ['default TTLs', {}],
  ['TTL 0', { 'cache.get_ttl': '0s', 'cache.head_ttl': '0s' }],
] as const) {
  test(`${name}: a reader that stops reading neither stalls nor truncates another reader of the same object`, {
    timeout: 30_000,
  }, async () => {
    const kura = await startTestKura({ origin: origin.url, settings: { ...ttl } });
    try {
      const key = `slow-reader/${name.replace(/\W/g, '-')}.bin`;
      const body = randomBytes(10 * MiB);
      origin.put(BUCKET, key, body);
      const from = origin.requests.length;

      const first = await stalledGet(kura.url, key);
      assert.equal(first.status, 200);
      assert.equal(first.xCache, 'MISS');
      // The second reader comes while the first reads nothing, and gets the whole object meanwhile.
      await sleep(50);
      const second = await sdkGet(sdkClient(kura.url), BUCKET, key);
      assert.equal(second.status, 200);
      assert.equal(second.body.length, body.length, 'the second reader got every byte');
      assert.ok(second.body.equals(body), 'byte-exact');

      const firstBody = await first.drain();
      assert.equal(firstBody.length, body.length, 'the first reader got every byte');
      assert.ok(firstBody.equals(body), 'byte-exact');
      assert.ok(kura.cache.stats.fillsLeftBehind >= 1, 'the first reader continued from the cache');

      const gets = origin.requests.slice(from).filter((r) => r.method === 'GET');
      const bodyBytes = gets.reduce((n, r) => n + r.bodyBytesSent, 0);
      assert.equal(bodyBytes, body.length, `one transfer from the origin (${gets.length} GETs)`);
    } finally {
      await kura.close();
    }
  });
}

test('a reader slower than the origin, but not much, holds the fill back and is not left behind', {
  timeout: 30_000,
}, async () => {
  // No bandwidth cap: the origin sends as fast as loopback carries, far faster than the reader takes.
  const fast = await startMemoryOrigin();
  const kura = await startTestKura({ origin: fast.url });
  try {
    const key = 'slow-reader/steady.bin';
    const body = randomBytes(24 * MiB);
    fast.put(BUCKET, key, body);
    // Twice the slowest pace a reader may hold a fill to (32 MiB/s, src/cache/read/fill-stream.ts).
    const target = await presign(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
    const got = await throttledGet(`${kura.url}${target}`, 64 * MiB);
    assert.equal(got.status, 200);
    assert.equal(got.xCache, 'MISS');
    assert.ok(got.body.equals(body), 'byte-exact');
    const stats = kura.cache.stats;
    assert.equal(stats.fillsLeftBehind, 0, 'the reader got the live answer to its end');
    assert.equal(stats.chunksSkipped, 0, 'no chunk skipped');

    // Every chunk is on the volume: the next read is a hit, with nothing asked of the origin.
    const from = fast.requests.length;
    const again = await sdkGet(sdkClient(kura.url), BUCKET, key);
    assert.ok(again.body.equals(body), 'byte-exact again');
    assert.equal(again.xCache, 'HIT');
    assert.deepEqual(
      fast.requests.slice(from).map((r) => r.method),
      [],
      'the warm read asked the origin nothing',
    );
  } finally {
    await kura.close();
    await fast.close();
  }
});
