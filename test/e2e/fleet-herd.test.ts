// Three real instances on one volume, a cold object wanted by every client of every instance at once:
// fetch leases make the fleet fetch it from S3 about once (docs/volume.md#fetch-leases). An instance asks
// S3 while it takes the lease of a first fetch; the one that finds it taken cuts its request before S3's
// first byte, and S3 sends the object once.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startFleet, type TestFleet } from '../support/fleet.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { originIsRgw } from '../support/origin.js';
import { type RgwOrigin, startRgwOrigin } from '../support/rgw-origin.js';

const BUCKET = 'kura-test';
const MiB = 2 ** 20;

let origin: MemoryOrigin | RgwOrigin;
let fleet: TestFleet;

before(async () => {
  // S3-like: a first-byte delay, and a bandwidth cap per connection.
  // KURA_TEST_ORIGIN=rgw (test/e2e/rgw-suite.test.ts): the same herd against Ceph RGW, at its own pace.
  origin = originIsRgw()
    ? await startRgwOrigin()
    : await startMemoryOrigin({ firstByteLatencyMs: 20, bandwidthBytesPerSec: 128 * MiB });
  fleet = await startFleet({
    origin: origin.url,
    cacheYaml: '  max_size: 512MiB\n  journal_flush: 250ms\n  lease_time: 20s\n',
  });
});
after(async () => {
  await fleet?.close();
  await origin?.close();
});

test(`cold herd: 8 clients on each of 3 instances read one ${originIsRgw() ? 16 : 64} MiB object; S3 sends it about once`, async () => {
  // 16 MiB against RGW (KURA_TEST_ORIGIN=rgw), whose loopback answers are slower: still many chunks.
  const body = randomBytes(originIsRgw() ? 16 * MiB : 64 * MiB);
  await origin.put(BUCKET, 'herd/big.bin', body);
  const from = origin.requests.length;
  const clients = fleet.members.flatMap((m) => Array.from({ length: 8 }, () => sdkClient(m.url)));
  const reads = await Promise.all(clients.map((c) => sdkGet(c, BUCKET, 'herd/big.bin')));
  for (const r of reads) {
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body), 'byte-exact');
  }
  const asked = origin.requests.slice(from).filter((r) => r.method === 'GET');
  const originBytes = asked.reduce((n, r) => n + r.bodyBytesSent, 0);
  const clientBytes = reads.reduce((n, r) => n + r.body.length, 0);
  const ratio = originBytes / clientBytes;
  // Each GET as `status range:bytes sent`, grouped: what the fleet asked for when it asked too much.
  const shapes = new Map<string, number>();
  for (const r of asked) {
    const range = rangeOf(r.rawHeaders) ?? 'whole';
    const shape = `${r.status} ${range}:${r.bodyBytesSent}`;
    shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
  }
  const gets = [...shapes].map(([shape, n]) => (n > 1 ? `${n}× ${shape}` : shape)).join(', ');
  const times = (originBytes / body.length).toFixed(3);
  console.log(
    `herd: origin body bytes ${originBytes} over ${asked.length} GETs for ${clientBytes} client bytes: ` +
      `${ratio.toFixed(4)} origin bytes per client byte, ${times} × the object (${gets})`,
  );
  assert.ok(originBytes <= 1.25 * body.length, `origin sent ${times} × the object over GETs ${gets}`);
});

// Against the memory origin only, whose first byte comes after S3's delay: Ceph RGW on loopback answers
// sooner than a lease file is made, and the cut then comes after its first bytes (the herd test above
// bounds those).
if (!originIsRgw())
  test('two instances fetch a cold object at once: the one without the lease cuts its request, S3 sends the object once', async () => {
    for (let round = 0; round < 3; round++) {
      const body = randomBytes(4 * MiB);
      const key = `herd/pair-${round}.bin`;
      await origin.put(BUCKET, key, body);
      const from = origin.requests.length;
      const pair = fleet.members.slice(0, 2).map((m) => sdkClient(m.url));
      const reads = await Promise.all(pair.map((c) => sdkGet(c, BUCKET, key)));
      for (const r of reads) assert.ok(r.status === 200 && r.body.equals(body), 'byte-exact');
      const gets = origin.requests.slice(from).filter((r) => r.method === 'GET');
      const sent = gets.map((r) => r.bodyBytesSent);
      // One GET brought the object; any other was cut before S3's first byte.
      assert.equal(
        sent.reduce((a, b) => a + b, 0),
        body.length,
        `bytes sent per GET: ${sent.join(', ')}`,
      );
      assert.equal(sent.filter((n) => n > 0).length, 1, `bytes sent per GET: ${sent.join(', ')}`);
    }
  });

function rangeOf(rawHeaders: string[]): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'range') return rawHeaders[i + 1];
  }
  return undefined;
}
