// Cell buffers used again (src/store/buffer-pool.ts): cells a fill reads from the origin, and chunk files
// read to be sent, go back to the pool once the socket, the chunk writer and the RAM tier are done with
// them. With the RAM tier off, and with one small enough that it lets chunks go all the time while
// answers still send them. Many answers at once, of several objects, cold and warm, whole and ranged, raw and LZ4
// chunks alike, to fast and to slow readers, must each carry exactly the origin's bytes: a buffer handed
// out again too early would put one answer's bytes into another.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectedRange, presignedGet, prng } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { presign, s3Path } from '../support/signing.js';

const BUCKET = 'kura-test';
const KiB = 1024;

/** A GET that reads nothing for `pauseMs`, then everything. */
async function slowGet(kura: TestKura, key: string, pauseMs: number): Promise<Buffer> {
  const path = await presign(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: new URL(kura.url).port, path, agent: false }, (res) => {
      res.pause();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
      void sleep(pauseMs).then(() => res.resume());
    });
    req.on('error', reject);
  });
}

for (const ram of ['0B', '32MiB']) {
  describe(`RAM tier ${ram}`, () => {
    let origin: MemoryOrigin;
    let kura: TestKura;
    const objects = new Map<string, Buffer>();

    before(async () => {
      origin = await startMemoryOrigin();
      kura = await startTestKura({
        origin: origin.url,
        settings: { 'cache.chunk_size': '64KiB', 'cache.ram_size': ram },
      });
      for (let i = 0; i < 8; i++) {
        // Random bytes are stored raw; repeated text as LZ4 (whose file buffer goes back at once).
        // Two large ones, more than the sockets' buffers hold, so that writes to a slow reader wait.
        const body =
          i >= 6
            ? randomBytes(24 * 2 ** 20 + i)
            : i % 2 === 0
              ? randomBytes(700 * KiB + i * 1000)
              : Buffer.from(`line ${i} of text that compresses well\n`.repeat(20_000)).subarray(0, 650 * KiB);
        const key = `volume-reads/${i}.bin`;
        origin.put(BUCKET, key, body);
        objects.set(key, body);
        const fill = await presignedGet(kura.url, BUCKET, key);
        assert.ok(fill.body.equals(body));
      }
      // The fills write their chunks after the answers: wait until every object reads as a whole HIT.
      for (const [key, body] of objects) {
        for (let tries = 0; ; tries++) {
          const got = await presignedGet(kura.url, BUCKET, key);
          assert.ok(got.body.equals(body));
          if (got.xCache === 'HIT') break;
          assert.ok(tries < 100, `${key} never became a HIT`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    after(async () => {
      await kura?.close();
      await origin?.close();
    });

    test('answers from the volume at once, whole and ranged, each byte-exact', async () => {
      const random = prng(7);
      const keys = [...objects.keys()];
      for (let round = 0; round < 4; round++) {
        const reads = Array.from({ length: 24 }, (_, n) => {
          const key = keys[(n + round) % keys.length] as string;
          const body = objects.get(key) as Buffer;
          const start = Math.floor(random() * body.length);
          const range =
            n % 3 === 0 ? undefined : `bytes=${start}-${start + Math.floor(random() * 300 * KiB)}`;
          return { key, body, range };
        });
        const answers = await Promise.all(
          reads.map((r) => presignedGet(kura.url, BUCKET, r.key, r.range ? { range: r.range } : {})),
        );
        for (const [n, got] of answers.entries()) {
          const { key, body, range } = reads[n] as (typeof reads)[number];
          assert.equal(got.xCache, 'HIT', `${key} ${range ?? 'whole'}`);
          if (range === undefined) {
            assert.equal(got.status, 200);
            assert.ok(got.body.equals(body), `${key} whole: the origin's bytes`);
          } else {
            const want = expectedRange(body.length, range) as { start: number; end: number };
            assert.equal(got.status, 206);
            assert.ok(got.body.equals(body.subarray(want.start, want.end + 1)), `${key} ${range}`);
          }
        }
      }
    });

    test('cold fills to slow and fast readers at once: each byte-exact, and so are the hits after', async () => {
      const cold = [0, 1, 2].map((i) => {
        const key = `buffer-reuse/cold-${i}.bin`;
        const body = randomBytes(20 * 2 ** 20 + i * 777);
        origin.put(BUCKET, key, body);
        objects.set(key, body);
        return key;
      });
      const fills = await Promise.all([
        slowGet(kura, cold[0] as string, 400),
        presignedGet(kura.url, BUCKET, cold[1] as string).then((r) => r.body),
        slowGet(kura, cold[2] as string, 250),
        presignedGet(kura.url, BUCKET, 'volume-reads/1.bin').then((r) => r.body),
      ]);
      const want = [cold[0], cold[1], cold[2], 'volume-reads/1.bin'] as string[];
      for (const [n, body] of fills.entries()) {
        assert.ok(body.equals(objects.get(want[n] as string) as Buffer), `${want[n]}: the origin's bytes`);
      }
      for (const key of cold) {
        const again = await slowGet(kura, key, 100);
        assert.ok(again.equals(objects.get(key) as Buffer), `${key} again: the origin's bytes`);
      }
    });

    test('a slow reader of an object in RAM while fills of others push it out: byte-exact', async () => {
      const keys = [0, 1, 2].map((i) => {
        const key = `buffer-reuse/ram-${ram}-${i}.bin`;
        const body = randomBytes(24 * 2 ** 20 + i);
        origin.put(BUCKET, key, body);
        objects.set(key, body);
        return key;
      });
      const [first, ...others] = keys as [string, ...string[]];
      // The fill writes the volume; the hit after it puts the cells in the RAM tier (when there is one), in
      // the pool's buffers it read them into.
      for (let n = 0; n < 2; n++) {
        assert.ok((await presignedGet(kura.url, BUCKET, first)).body.equals(objects.get(first) as Buffer));
      }
      const slow = slowGet(kura, first, 600);
      // Each of the others is filled and read again: its hit pushes the first object out of RAM.
      const fills = await Promise.all(
        others.map(async (key) => {
          await presignedGet(kura.url, BUCKET, key);
          return presignedGet(kura.url, BUCKET, key);
        }),
      );
      for (const [n, got] of fills.entries()) {
        assert.ok(got.body.equals(objects.get(others[n] as string) as Buffer), `${others[n]}`);
      }
      assert.ok((await slow).equals(objects.get(first) as Buffer), `${first} to the slow reader`);
    });

    test('slow readers of large objects, while others read at full speed: each byte-exact', async () => {
      const large = ['volume-reads/6.bin', 'volume-reads/7.bin'];
      const small = [...objects.keys()].filter((k) => !large.includes(k));
      const slow = large.flatMap((key, n) => [slowGet(kura, key, 300 + n * 100), slowGet(kura, key, 500)]);
      // Meanwhile, other answers take buffers from the pool and give them back.
      for (let round = 0; round < 3; round++) {
        const fast = await Promise.all(small.map((key) => presignedGet(kura.url, BUCKET, key)));
        for (const [n, got] of fast.entries()) {
          assert.ok(
            got.body.equals(objects.get(small[n] as string) as Buffer),
            `${small[n]}, round ${round}`,
          );
        }
      }
      const bodies = await Promise.all(slow);
      for (const [n, body] of bodies.entries()) {
        const key = large[Math.floor(n / 2)] as string;
        assert.ok(
          body.equals(objects.get(key) as Buffer),
          `${key}, slow reader ${n % 2}: the origin's bytes`,
        );
      }
    });
  });
}
