// A worker group serves the gateway too: every worker listens on the gateway port the primary chose,
// and reads through it share the volume like any others.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { gatewayRequest } from '../support/gateway.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    workers: 2,
    settings: {
      'gateway.listen': ['127.0.0.1:0'],
      'gateway.routes': [
        {
          prefix: '/g/',
          origin: { url: origin.url },
          bucket: BUCKET,
          credentials: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
          auth: 'none',
        },
      ],
    },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

test('each worker answers on the gateway port; the object is fetched from the origin once', async () => {
  const port = kura.gatewayPorts[0] as number;
  assert.ok(port > 0);
  const body = randomBytes(30_000);
  origin.put(BUCKET, 'w/obj.bin', body);
  const first = await gatewayRequest(port, '/g/w/obj.bin');
  assert.equal(first.status, 200);
  assert.ok(first.body.equals(body));
  // Separate connections are spread over the workers (round-robin): all read the one volume.
  for (let i = 0; i < 6; i++) {
    const res = await gatewayRequest(port, '/g/w/obj.bin');
    assert.equal(res.headers['x-cache'], 'HIT');
    assert.ok(res.body.equals(body));
  }
  const gets = origin.requests.filter((r) => r.method === 'GET' && r.rawUrl.endsWith('/w/obj.bin'));
  assert.equal(gets.length, 1);
});
