// Replica failover of a gateway route: the primary origin is stopped, reads move to the replica, the
// primary's circuit breaker opens (and /metrics says so), and what the replica served is cached under
// the route's object keys like any other read. Both origins verify Kura's signatures.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { gatewayRequest } from '../support/gateway.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const REPLICA_BUCKET = 'kura-replica';
const objects = new Map([1, 2, 3].map((n) => [`r/${n}.bin`, randomBytes(50_000 + n)]));

let primary: MemoryOrigin;
let replica: MemoryOrigin;
let kura: TestKura;
let port: number;

before(async () => {
  primary = await startMemoryOrigin();
  replica = await startMemoryOrigin({ buckets: [REPLICA_BUCKET] });
  for (const [key, body] of objects) {
    primary.put(BUCKET, key, body);
    replica.put(REPLICA_BUCKET, key, body);
  }
  kura = await startTestKura({
    workers: 1,
    settings: {
      'admin.port': await freePort(),
      'gateway.listen': ['127.0.0.1:0'],
      'gateway.routes': [
        {
          prefix: '/data/',
          origin: { url: primary.url },
          bucket: BUCKET,
          replicas: [{ url: replica.url, bucket: REPLICA_BUCKET }],
          breaker: { failures: 1, open_for: '1h' },
          credentials: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
          auth: 'none',
        },
      ],
    },
  });
  port = kura.gatewayPorts[0] as number;
});
after(async () => {
  await kura?.close();
  await primary?.close();
  await replica?.close();
});

async function originStates(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${kura.adminPort}/metrics`)).text();
  const states = new Map<string, number>();
  for (const m of text.matchAll(/^kura_gateway_origin_state\{[^}]*kura_origin="([^"]+)"[^}]*\} (\d+)/gm)) {
    states.set(m[1] as string, Number(m[2]));
  }
  return states;
}

test('reads go to the primary; once it stops, to the replica, and the primary circuit opens', async () => {
  const first = await gatewayRequest(port, '/data/r/1.bin');
  assert.equal(first.status, 200);
  assert.ok(first.body.equals(objects.get('r/1.bin') as Buffer));
  assert.ok(primary.requests.some((r) => r.rawUrl.endsWith('/r/1.bin')));
  assert.equal(replica.requests.length, 0);
  assert.deepEqual(
    await originStates(),
    new Map([
      [primary.url, 0],
      [replica.url, 0],
    ]),
  );

  await primary.close();
  const second = await gatewayRequest(port, '/data/r/2.bin');
  assert.equal(second.status, 200);
  assert.ok(second.body.equals(objects.get('r/2.bin') as Buffer));
  const served = replica.requests.filter((r) => r.rawUrl === `/${REPLICA_BUCKET}/r/2.bin`);
  assert.ok(served.length >= 1);
  assert.ok(served.every((r) => r.verdict === 'ok'));
  assert.equal((await originStates()).get(primary.url), 2);

  const third = await gatewayRequest(port, '/data/r/3.bin', { method: 'HEAD' });
  assert.equal(third.status, 200);
  assert.equal(Number(third.headers['content-length']), (objects.get('r/3.bin') as Buffer).length);

  // What the replica served is the route's cached object: the next read costs no origin anything.
  const before = replica.requests.length;
  const again = await gatewayRequest(port, '/data/r/2.bin');
  assert.equal(again.headers['x-cache'], 'HIT');
  assert.ok(again.body.equals(objects.get('r/2.bin') as Buffer));
  assert.equal(replica.requests.length, before);
});
