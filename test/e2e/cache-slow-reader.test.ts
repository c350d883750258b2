// A client that stops reading must not hold back anyone else: the fill it started goes on at the origin's
// pace, a second reader of the same cold object gets every byte while the first still reads nothing, and
// the first, once it reads again, gets every byte too (from the cache, where the fill left them).

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
