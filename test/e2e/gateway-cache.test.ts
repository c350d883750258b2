// Gateway reads through the shared cache, against the verifying in-memory origin: a transparent read and
// a gateway read of one object share chunks and records (the second costs the origin no body byte),
// ranges, HEAD, 304s from client conditionals, Content-Type found from the first bytes, CORS, and
// `HEAD ?prefetch=1` warming in the background, and the request metrics and top keys gateway reads
// move. Every body is compared with the origin's bytes.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { gatewayRequest, sha256Hex, solidPng } from '../support/gateway.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { sample, scrape } from '../support/prometheus.js';

const BUCKET = 'kura-test';
const CHUNK = 64 * 1024;

let origin: MemoryOrigin;
/** A slow origin (a bandwidth cap) for the prefetch test: its GET is still running when HEAD is answered. */
let slow: MemoryOrigin;
let kura: TestKura;
let port: number;

before(async () => {
  origin = await startMemoryOrigin();
  slow = await startMemoryOrigin({ bandwidthBytesPerSec: 1_000_000 });
  const credentials = { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };
  kura = await startTestKura({
    workers: 1,
    origin: origin.url,
    settings: {
      'cache.chunk_size': '64KiB',
      'admin.port': await freePort(),
      'gateway.listen': ['127.0.0.1:0'],
      'gateway.routes': [
        {
          prefix: '/pub/',
          origin: { url: origin.url },
          bucket: BUCKET,
          credentials,
          auth: 'none',
          cors: { origins: ['https://app.test'], max_age: '5m' },
        },
        {
          prefix: '/img/',
          origin: { url: origin.url },
          bucket: BUCKET,
          key_prefix: 'images/',
          credentials,
          auth: 'none',
        },
        { prefix: '/slow/', origin: { url: slow.url }, bucket: BUCKET, credentials, auth: 'none' },
        {
          prefix: '/rw/',
          origin: { url: origin.url },
          bucket: BUCKET,
          key_prefix: 'uploads/',
          credentials,
          access: 'read-write',
          auth: { kind: 'bearer', token_sha256: [sha256Hex('writer')] },
        },
      ],
    },
  });
  port = kura.gatewayPorts[0] as number;
});
after(async () => {
  await kura?.close();
  await origin?.close();
  await slow?.close();
});

/** Origin requests for one key made while `fn` ran, and the body bytes they cost. */
async function originDuring(o: MemoryOrigin, key: string, fn: () => Promise<unknown>) {
  const from = o.requests.length;
  await fn();
  const asked = o.requests.slice(from).filter((r) => r.rawUrl.split('?')[0]?.endsWith(key));
  return { asked, bodyBytes: asked.reduce((n, r) => n + r.bodyBytesSent, 0) };
}

describe('one cache for both modes', () => {
  test('a transparent read, then a gateway read: a HIT that costs the origin nothing', async () => {
    const body = randomBytes(3 * CHUNK + 17);
    origin.put(BUCKET, 'shared/first-transparent.bin', body);
    const first = await sdkGet(sdkClient(kura.url), BUCKET, 'shared/first-transparent.bin');
    assert.equal(first.xCache, 'MISS');
    const { asked } = await originDuring(origin, 'shared/first-transparent.bin', async () => {
      const res = await gatewayRequest(port, '/pub/shared/first-transparent.bin');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-cache'], 'HIT');
      assert.ok(res.body.equals(body));
      assert.equal(res.headers.etag, first.etag);
    });
    assert.equal(asked.length, 0);
  });

  test('a gateway read, then a transparent read: no body byte from the origin', async () => {
    const body = randomBytes(2 * CHUNK + 5);
    origin.put(BUCKET, 'shared/first-gateway.bin', body);
    const res = await gatewayRequest(port, '/pub/shared/first-gateway.bin');
    assert.equal(res.headers['x-cache'], 'MISS');
    assert.ok(res.body.equals(body));
    const { bodyBytes } = await originDuring(origin, 'shared/first-gateway.bin', async () => {
      const read = await sdkGet(sdkClient(kura.url), BUCKET, 'shared/first-gateway.bin');
      assert.equal(read.status, 200);
      assert.ok(read.body.equals(body));
      // The S3 client's own credentials were never seen by S3 for this bucket: at most a 304 says so.
      assert.ok(read.xCache === 'HIT' || read.xCache === 'REVALIDATED', String(read.xCache));
    });
    assert.equal(bodyBytes, 0);
  });

  test('a key prefix maps the route onto the same objects', async () => {
    const body = randomBytes(1000);
    origin.put(BUCKET, 'images/x/y.bin', body);
    const res = await gatewayRequest(port, '/img/x/y.bin');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(body));
    assert.equal((await gatewayRequest(port, '/pub/images/x/y.bin')).headers['x-cache'], 'HIT');
  });
});

describe('reads', () => {
  const body = randomBytes(5 * CHUNK + 99);
  before(() => {
    origin.put(BUCKET, 'reads/obj.bin', body, { contentType: 'application/x-test' });
  });

  test('ranges: cold and warm, byte-exact, with Content-Range', async () => {
    const cold = await gatewayRequest(port, '/pub/reads/obj.bin', {
      headers: { range: 'bytes=70000-140000' },
    });
    assert.equal(cold.status, 206);
    assert.equal(cold.headers['content-range'], `bytes 70000-140000/${body.length}`);
    assert.ok(cold.body.equals(body.subarray(70000, 140001)));
    const { asked } = await originDuring(origin, 'reads/obj.bin', async () => {
      const warm = await gatewayRequest(port, '/pub/reads/obj.bin', {
        headers: { range: 'bytes=80000-90000' },
      });
      assert.equal(warm.status, 206);
      assert.ok(warm.body.equals(body.subarray(80000, 90001)));
      const suffix = await gatewayRequest(port, '/pub/reads/obj.bin', { headers: { range: 'bytes=-100' } });
      assert.equal(suffix.status, 206);
    });
    // The suffix range was not cached yet: only its missing chunk is fetched, never the whole object.
    assert.ok(asked.every((r) => r.method === 'GET'));
    const whole = await gatewayRequest(port, '/pub/reads/obj.bin');
    assert.ok(whole.body.equals(body));
    assert.equal(whole.headers['content-type'], 'application/x-test');
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await gatewayRequest(port, '/pub/reads/obj.bin', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers['content-length']), body.length);
    assert.equal(res.body.length, 0);
  });

  test('If-None-Match and If-Modified-Since get 304 from a fresh record, without asking the origin', async () => {
    const whole = await gatewayRequest(port, '/pub/reads/obj.bin');
    const etag = String(whole.headers.etag);
    const { asked } = await originDuring(origin, 'reads/obj.bin', async () => {
      const inm = await gatewayRequest(port, '/pub/reads/obj.bin', { headers: { 'if-none-match': etag } });
      assert.equal(inm.status, 304);
      assert.equal(inm.body.length, 0);
      const later = new Date(Date.now() + 60_000).toUTCString();
      const ims = await gatewayRequest(port, '/pub/reads/obj.bin', {
        headers: { 'if-modified-since': later },
      });
      assert.equal(ims.status, 304);
      const other = await gatewayRequest(port, '/pub/reads/obj.bin', {
        headers: { 'if-none-match': '"other"' },
      });
      assert.equal(other.status, 200);
      assert.ok(other.body.equals(body));
    });
    assert.equal(asked.length, 0);
  });

  test('a missing object is S3-shaped XML for S3 clients and JSON when asked for', async () => {
    const xml = await gatewayRequest(port, '/pub/reads/missing.bin');
    assert.equal(xml.status, 404);
    assert.match(xml.body.toString(), /<Code>NoSuchKey<\/Code>/);
    const json = await gatewayRequest(port, '/pub/reads/missing.bin', {
      headers: { accept: 'application/json' },
    });
    assert.equal(json.status, 404);
    assert.equal(json.headers['content-type'], 'application/json');
    const error = JSON.parse(json.body.toString()).error;
    assert.equal(error.code, 'NoSuchKey');
    assert.equal(error.resource, '/pub/reads/missing.bin');
    const text = await gatewayRequest(port, '/pub/reads/missing.bin', {
      headers: { accept: 'text/html,*/*' },
    });
    assert.match(text.body.toString(), /^404 NoSuchKey: /);
    const noRoute = await gatewayRequest(port, '/nowhere/x', { headers: { accept: 'application/json' } });
    assert.equal(noRoute.status, 404);
    assert.equal(JSON.parse(noRoute.body.toString()).error.code, 'NoSuchRoute');
  });
});

describe('content type and CORS', () => {
  test('an object stored without a type is served with the type its bytes show', async () => {
    const png = solidPng(4, 4, [200, 30, 30]);
    origin.put(BUCKET, 'images/untyped', png);
    for (const xCache of ['MISS', 'HIT']) {
      const res = await gatewayRequest(port, '/img/untyped');
      assert.equal(res.headers['x-cache'], xCache);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.ok(res.body.equals(png));
    }
    // Bytes that show nothing keep S3's type.
    origin.put(BUCKET, 'images/noise', Buffer.alloc(100, 7));
    assert.equal((await gatewayRequest(port, '/img/noise')).headers['content-type'], 'binary/octet-stream');
  });

  test('a route with CORS answers preflights and tags answers for listed origins only', async () => {
    origin.put(BUCKET, 'cors/a.txt', Buffer.from('hello'));
    const pre = await gatewayRequest(port, '/pub/cors/a.txt', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.test',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.test');
    assert.equal(pre.headers['access-control-max-age'], '300');
    const got = await gatewayRequest(port, '/pub/cors/a.txt', { headers: { origin: 'https://app.test' } });
    assert.equal(got.headers['access-control-allow-origin'], 'https://app.test');
    assert.match(String(got.headers['access-control-expose-headers']), /ETag/);
    const stranger = await gatewayRequest(port, '/pub/cors/a.txt', {
      headers: { origin: 'https://evil.test' },
    });
    assert.equal(stranger.headers['access-control-allow-origin'], undefined);
    const refused = await gatewayRequest(port, '/pub/cors/a.txt', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
    });
    assert.equal(refused.status, 403);
    const put = await gatewayRequest(port, '/pub/cors/a.txt', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.test', 'access-control-request-method': 'PUT' },
    });
    assert.equal(put.status, 403);
  });
});

describe('read-write routes', () => {
  test('PUT stores through Kura (read back from cache), DELETE removes; read-only routes refuse both', async () => {
    const auth = { authorization: 'Bearer writer' };
    const body = randomBytes(3 * CHUNK);
    const put = await gatewayRequest(port, '/rw/new/file.bin', {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/x-upload', 'content-length': String(body.length) },
      body,
    });
    assert.equal(put.status, 200);
    assert.ok(origin.get(BUCKET, 'uploads/new/file.bin')?.body.equals(body));
    const { bodyBytes } = await originDuring(origin, 'uploads/new/file.bin', async () => {
      const read = await gatewayRequest(port, '/rw/new/file.bin', { headers: auth });
      assert.equal(read.status, 200);
      assert.ok(read.body.equals(body));
      assert.equal(read.headers['content-type'], 'application/x-upload');
    });
    assert.equal(bodyBytes, 0);
    const unauthorized = await gatewayRequest(port, '/rw/new/file.bin', { method: 'DELETE' });
    assert.equal(unauthorized.status, 401);
    assert.equal(
      (await gatewayRequest(port, '/rw/new/file.bin', { method: 'DELETE', headers: auth })).status,
      204,
    );
    assert.equal(origin.get(BUCKET, 'uploads/new/file.bin'), undefined);
    assert.equal((await gatewayRequest(port, '/rw/new/file.bin', { headers: auth })).status, 404);
    const refused = await gatewayRequest(port, '/pub/uploads/x', { method: 'PUT', body: Buffer.from('x') });
    assert.equal(refused.status, 405);
    assert.equal(refused.headers.allow, 'GET, HEAD');
  });
});

describe('prefetch', () => {
  test('HEAD ?prefetch=1 is answered while the GET it started still runs; then reads are HITs', async () => {
    const body = randomBytes(3_000_000);
    slow.put(BUCKET, 'warm/big.bin', body);
    const head = await gatewayRequest(port, '/slow/warm/big.bin?prefetch=1', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), body.length);
    // At 1 MB/s the 3 MB GET cannot have finished: the HEAD did not wait for it.
    const gets = () => slow.requests.filter((r) => r.method === 'GET' && r.rawUrl.endsWith('warm/big.bin'));
    // The GET goes out beside the HEAD's answer: on a busy machine the origin may see it a moment later.
    for (let i = 0; i < 20 && gets().length === 0; i += 1) await sleep(50);
    assert.ok(gets().length >= 1);
    assert.ok(gets().every((r) => r.status === 0 || r.bodyBytesSent < body.length));
    // Bounded wait for the background GET to be cached (about 3 s at the origin's pace).
    for (let i = 0; i < 200 && !gets().some((r) => r.bodyBytesSent === body.length); i += 1) await sleep(100);
    await sleep(200);
    const { asked } = await originDuring(slow, 'warm/big.bin', async () => {
      const res = await gatewayRequest(port, '/slow/warm/big.bin');
      assert.equal(res.headers['x-cache'], 'HIT');
      assert.ok(res.body.equals(body));
    });
    assert.equal(asked.length, 0);
  });
});

describe('telemetry', () => {
  test('gateway reads count in the request-duration histogram and the dashboard top keys', async () => {
    const body = randomBytes(100_000);
    origin.put(BUCKET, 'telemetry/hot.bin', body);
    const admin = `http://127.0.0.1:${kura.adminPort}`;
    const before = await scrape(admin);
    for (let i = 0; i < 3; i++) {
      const res = await gatewayRequest(port, '/pub/telemetry/hot.bin');
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(body));
    }
    const after = await scrape(admin);
    const timed = (result: string) => {
      const labels = {
        http_request_method: 'GET',
        http_response_status_code: '200',
        kura_cache_result: result,
      };
      return (
        sample(after, 'http_server_request_duration_count', labels) -
        sample(before, 'http_server_request_duration_count', labels)
      );
    };
    assert.equal(timed('MISS'), 1);
    assert.equal(timed('HIT'), 2);
    const data = (await (await fetch(`${admin}/dashboard/data`)).json()) as {
      topKeys: { bucket: string; key: string; requests: number; hits: number; bytes: number }[];
    };
    const hot = data.topKeys.find((k) => k.bucket === BUCKET && k.key === 'telemetry/hot.bin');
    assert.deepEqual(
      { requests: hot?.requests, hits: hot?.hits },
      { requests: 3, hits: 2 },
      'the gateway reads of the key, two of them from the cache',
    );
  });
});
