// Many clients at once, and a process killed in the middle of its fills: one upstream transfer for many
// readers of a cold object, a volume that answers byte-exact after `kill -9` and a restart, and a fill
// that loses its race with a delete.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { expectedRange, presignedGet, prng, sdkClient, sdkGet } from '../support/cache-client.js';
import { spawnKura, startTestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const MiB = 2 ** 20;

let origin: MemoryOrigin;

before(async () => {
  // S3-like: a first-byte delay, and about 256 MiB/s per connection.
  origin = await startMemoryOrigin({ firstByteLatencyMs: 20, bandwidthBytesPerSec: 256 * MiB });
});
after(() => origin?.close());

test('20 concurrent clients reading the same cold 64 MiB object cause one upstream body transfer', async () => {
  const kura = await startTestKura({ origin: origin.url });
  try {
    const body = randomBytes(64 * MiB);
    origin.put(BUCKET, 'coalesce/big.bin', body);
    const from = origin.requests.length;
    const clients = Array.from({ length: 20 }, () => sdkClient(kura.url));
    const reads = await Promise.all(clients.map((c) => sdkGet(c, BUCKET, 'coalesce/big.bin')));
    for (const r of reads) {
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body), 'byte-exact');
    }
    const asked = origin.requests.slice(from).filter((r) => r.method === 'GET');
    const bodyBytes = asked.reduce((n, r) => n + r.bodyBytesSent, 0);
    assert.equal(
      bodyBytes,
      body.length,
      `upstream body bytes: ${bodyBytes} over ${asked.length} requests; ${JSON.stringify(kura.cache.stats)}`,
    );
    assert.ok(kura.cache.stats.coalesced > 0);
  } finally {
    await kura.close();
  }
});

test('the volume survives kill -9 during fills: after a restart every answer is byte-exact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-crash-'));
  const config = join(dir, 'kura.yaml');
  await writeFile(config, 'cache:\n  chunk_size: 64KiB\n');
  const volume = join(dir, 'volume');
  const slow = await startMemoryOrigin({ bandwidthBytesPerSec: 24 * MiB });
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < 6; i++) {
    const key = `crash/object-${i}.bin`;
    bodies.set(key, randomBytes(6 * MiB + i * 4099));
    slow.put(BUCKET, key, bodies.get(key) as Buffer);
  }
  const args = ['--config', config, '--cache-dir', volume, '--origin', slow.url];
  try {
    const first = await spawnKura(args);
    const client = sdkClient(first.url);
    // Whole objects and unaligned ranges in flight when the process dies.
    const inFlight = [...bodies.keys()].map((key, i) =>
      i % 2 === 0
        ? sdkGet(client, BUCKET, key)
        : sdkGet(client, BUCKET, key, `bytes=${1000 * i}-${4 * MiB + i}`),
    );
    await sleep(400);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    await Promise.allSettled(inFlight);
    await first.stop();

    const second = await spawnKura(args);
    try {
      const again = sdkClient(second.url);
      const next = prng(9);
      const kinds: Record<string, number> = {};
      for (const [key, body] of bodies) {
        const whole = await sdkGet(again, BUCKET, key);
        assert.equal(whole.status, 200);
        assert.ok(whole.body.equals(body), `${key}: whole object differs after the restart`);
        for (let j = 0; j < 10; j++) {
          const a = Math.floor(next() * body.length);
          const range = `bytes=${a}-${a + Math.floor(next() * 2 * MiB)}`;
          const want = expectedRange(body.length, range) as { start: number; end: number };
          const r =
            j % 2
              ? await sdkGet(again, BUCKET, key, range)
              : await presignedGet(second.url, BUCKET, key, { range });
          assert.equal(r.status, 206);
          assert.ok(r.body.equals(body.subarray(want.start, want.end + 1)), `${key} ${range} differs`);
          kinds[r.xCache ?? 'none'] = (kinds[r.xCache ?? 'none'] ?? 0) + 1;
        }
      }
      assert.ok((kinds.HIT ?? 0) > 0, `the restarted instance used the volume: ${JSON.stringify(kinds)}`);
    } finally {
      await second.stop();
    }
  } finally {
    await slow.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an answer S3 gave before a delete, reaching Kura after the delete, is relayed and not kept', async () => {
  const kura = await startTestKura({ origin: origin.url });
  try {
    const key = 'race/deleted.bin';
    const body = randomBytes(2 * MiB);
    origin.put(BUCKET, key, body);
    // S3 decides the GET's answer as it arrives (the object still there) and sends it half a second late.
    origin.injectFault({ kind: 'late', ms: 500 });
    const client = sdkClient(kura.url);
    const from = origin.requests.length;
    let readDone = false;
    const read = sdkGet(client, BUCKET, key).finally(() => {
      readDone = true;
    });
    const gets = () => origin.requests.slice(from).filter((r) => r.method === 'GET');
    for (let i = 0; i < 200 && gets().length === 0; i++) await sleep(10);
    assert.equal(gets().length, 1, 'the GET reached S3');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(origin.get(BUCKET, key), undefined);
    assert.ok(!readDone, 'the delete was answered while the GET was still on its way');

    const first = await read;
    assert.equal(first.status, 200, 'the read that began before the delete gets what S3 answered');
    assert.ok(first.body.equals(body));
    const again = await sdkGet(client, BUCKET, key);
    assert.equal(again.status, 404, `a read after the delete: ${again.status} ${again.xCache}`);
  } finally {
    await kura.close();
  }
});
