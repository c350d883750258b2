// `Expect: 100-continue` through Kura is decided by S3, as direct: the verifying in-memory origin judges an
// upload on its head (signature, bucket) and answers 403/404 or 100 before the body, and the client hears
// exactly that. A refused upload costs the client no body byte; an accepted one streams after S3's 100
// and is cached. An origin that never answers the expectation still gets the body.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CONTINUE_WAIT_MS } from '../../src/upstream/continue-request.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { sample, scrape } from '../support/prometheus.js';
import { expectContinue } from '../support/raw-http.js';
import { errorCode, type SignedRequest, s3Path, signRequest } from '../support/signing.js';
import { originBodyBytesDuring } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const KiB = 1024;
/** Long enough that a client which sends its body before this heard a 100 from someone. */
const PATIENT_MS = 10_000;

let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: {
      'cache.chunk_size': '64KiB',
      'cache.write_max_object_size': '8MiB',
      'admin.port': await freePort(),
    },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** The request's head as a client writes it, with `extra` headers (unsigned unless signed already). */
function headOf(signed: SignedRequest, extra: string[]): string {
  const lines = [`${signed.method} ${signed.rawUrl} HTTP/1.1`];
  const all = [...signed.headers, ...extra];
  for (let i = 0; i + 1 < all.length; i += 2) lines.push(`${all[i]}: ${all[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

async function signedPut(bucket: string, key: string, body: Buffer, signExpect = false) {
  const headers: Record<string, string> = signExpect ? { expect: '100-continue' } : {};
  return signRequest(
    kura.url,
    { method: 'PUT', path: s3Path(bucket, key), headers, body },
    signExpect ? { signableHeaders: new Set(['expect']) } : {},
  );
}

/** The origin's log entries for PUTs of `key` since `from`. */
function originPuts(from: number, key: string) {
  return origin.requests.slice(from).filter((r) => r.method === 'PUT' && r.rawUrl.includes(key));
}

describe('S3 answers the expectation, through Kura', () => {
  test('a PUT to a missing bucket: S3’s 404 comes before any body byte, and the connection closes', async () => {
    const body = randomBytes(512 * KiB);
    const from = origin.requests.length;
    const signed = await signedPut('no-such-bucket', 'expect/missing.bin', body);
    // No `Connection: close`: Kura must close by itself, as the body it never read cannot be skipped.
    const got = await expectContinue(kura.port, headOf(signed, ['Expect', '100-continue']), body, PATIENT_MS);
    assert.deepEqual(got.interim, [], 'no 100 Continue');
    assert.equal(got.bodyBytesSent, 0, 'the client sent no body byte');
    assert.ok(got.closedByServer, 'Kura closed the connection');
    assert.equal(got.response?.status, 404);
    assert.equal(errorCode(got.response?.body ?? ''), 'NoSuchBucket');
    assert.deepEqual(
      originPuts(from, 'expect/missing.bin').map((r) => r.status),
      [404],
      'S3 itself answered',
    );
  });

  test('a PUT with a bad signature: S3’s 403 comes before any body byte', async () => {
    const body = randomBytes(512 * KiB);
    const signed = await signedPut(BUCKET, 'expect/forged.bin', body);
    const headers = [...signed.headers];
    const at = headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization') + 1;
    const auth = headers[at] as string;
    headers[at] = `${auth.slice(0, -1)}${auth.endsWith('0') ? '1' : '0'}`;
    const got = await expectContinue(
      kura.port,
      headOf({ ...signed, headers }, ['Expect', '100-continue']),
      body,
      PATIENT_MS,
    );
    assert.deepEqual(got.interim, []);
    assert.equal(got.bodyBytesSent, 0);
    assert.equal(got.response?.status, 403);
    assert.equal(errorCode(got.response?.body ?? ''), 'SignatureDoesNotMatch');
    assert.equal(origin.get(BUCKET, 'expect/forged.bin'), undefined);
  });

  for (const signExpect of [false, true]) {
    test(`an authorized PUT${signExpect ? ' that signs Expect' : ''}: S3’s 100, then the body, stored and cached`, async () => {
      const key = `expect/accepted-${signExpect}.bin`;
      const body = randomBytes(300 * KiB + 11);
      const signed = await signedPut(BUCKET, key, body, signExpect);
      const extra = signExpect ? ['Connection', 'close'] : ['Expect', '100-continue', 'Connection', 'close'];
      const got = await expectContinue(kura.port, headOf(signed, extra), body, PATIENT_MS);
      assert.deepEqual(got.interim, [100]);
      assert.ok((got.bodySentAfterMs ?? Infinity) < PATIENT_MS, 'the body went on S3’s 100');
      assert.equal(got.response?.status, 200, got.response?.body);
      const stored = origin.get(BUCKET, key);
      assert.ok(stored?.body.equals(body), 'the origin has the bytes sent');
      const reads = await originBodyBytesDuring(origin, async () => {
        const read = await sdkGet(sdkClient(kura.url), BUCKET, key);
        assert.equal(read.status, 200);
        assert.ok(read.body.equals(body), 'byte-exact from the cache');
        assert.equal(read.etag, stored?.etag);
      });
      assert.equal(reads.bodyBytes, 0, 'the upload was cached: no body byte from the origin');
    });
  }

  test('the AWS SDK: a refused large PutObject sends no body, an accepted one is stored and cached', async () => {
    const client = sdkClient(kura.url);
    // Above 2 MiB the SDK sends `Expect: 100-continue` and waits up to 6 s for the answer.
    const body = randomBytes(3 * 1024 * KiB);
    const startedAt = performance.now();
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'expect/sdk.bin', Body: body })),
      (err: Error) => err.name === 'NoSuchBucket',
    );
    assert.ok(performance.now() - startedAt < 5_000, 'the SDK did not wait out its own timeout');
    const refused = kura.access.findLast((r) => r.bucket === 'no-such-bucket');
    assert.equal(refused?.status, 404);
    assert.ok((refused?.bytesIn ?? Infinity) < 16 * KiB, `Kura received ${refused?.bytesIn} bytes`);

    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'expect/sdk.bin', Body: body }));
    const accepted = kura.access.findLast((r) => r.key === 'expect/sdk.bin');
    assert.equal(accepted?.status, 200);
    assert.ok(origin.get(BUCKET, 'expect/sdk.bin')?.body.equals(body));
    const reads = await originBodyBytesDuring(origin, async () => {
      const read = await sdkGet(client, BUCKET, 'expect/sdk.bin');
      assert.ok(read.body.equals(body));
    });
    assert.equal(reads.bodyBytes, 0);
  });

  test('every request above gave its upstream place back, refused or not', async () => {
    const admin = `http://127.0.0.1:${kura.adminPort}`;
    let active = -1;
    for (let i = 0; i < 40 && active !== 0; i++) {
      if (i > 0) await sleep(50);
      active = sample(await scrape(admin), 'kura_upstream_active');
    }
    assert.equal(active, 0);
  });
});

describe('an origin that never answers the expectation still gets the body', () => {
  let silent: http.Server;
  let silentKura: TestKura;
  const received = new Map<string, number>();

  before(async () => {
    // Judges nothing before the body and sends no 100: the upload is answered once it has arrived.
    silent = http.createServer();
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        received.set(req.url ?? '', n);
        res.writeHead(200, { etag: '"silent"', 'content-length': '0' }).end();
      });
    };
    silent.on('checkContinue', onRequest);
    silent.on('request', onRequest);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    silentKura = await startTestKura({ origin: `http://127.0.0.1:${port}` });
  });
  after(async () => {
    await silentKura?.close();
    silent?.closeAllConnections();
    await new Promise((resolve) => silent?.close(resolve));
  });

  test('a patient client hears Kura’s 100 once S3 stayed silent past the wait', async () => {
    const body = randomBytes(200 * KiB);
    const signed = await signRequest(silentKura.url, {
      method: 'PUT',
      path: s3Path(BUCKET, 'patient'),
      body,
    });
    const head = headOf(signed, ['Expect', '100-continue', 'Connection', 'close']);
    const got = await expectContinue(silentKura.port, head, body, PATIENT_MS);
    assert.deepEqual(got.interim, [100]);
    const sentAfter = got.bodySentAfterMs ?? Infinity;
    assert.ok(
      sentAfter >= CONTINUE_WAIT_MS - 50 && sentAfter < PATIENT_MS,
      `body sent after ${sentAfter} ms`,
    );
    assert.equal(got.response?.status, 200);
    assert.equal(received.get(s3Path(BUCKET, 'patient')), body.length);
  });

  test('DeleteObjects, whose body Kura reads first, gets Kura’s own 100 at once', async () => {
    const body = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>a</Key></Object></Delete>',
    );
    const signed = await signRequest(silentKura.url, {
      method: 'POST',
      path: s3Path(BUCKET),
      query: { delete: '' },
      body,
    });
    const head = headOf(signed, ['Expect', '100-continue', 'Connection', 'close']);
    const got = await expectContinue(silentKura.port, head, body, PATIENT_MS);
    assert.deepEqual(got.interim, [100]);
    assert.ok((got.bodySentAfterMs ?? Infinity) < CONTINUE_WAIT_MS, 'Kura did not wait for S3');
    assert.equal(got.response?.status, 200);
    assert.equal(received.get(`${s3Path(BUCKET)}?delete=`), body.length);
  });

  test('a client that stops waiting sends its body, and it reaches the origin', async () => {
    const body = randomBytes(200 * KiB);
    const signed = await signRequest(silentKura.url, { method: 'PUT', path: s3Path(BUCKET, 'hasty'), body });
    const head = headOf(signed, ['Expect', '100-continue', 'Connection', 'close']);
    const got = await expectContinue(silentKura.port, head, body, 100);
    assert.ok((got.bodySentAfterMs ?? Infinity) < CONTINUE_WAIT_MS, 'the client did not wait for a 100');
    assert.equal(got.response?.status, 200);
    assert.equal(received.get(s3Path(BUCKET, 'hasty')), body.length);
  });
});

describe('an origin that answers before the body is all in', () => {
  let hasty: http.Server;
  let hastyKura: TestKura;

  before(async () => {
    // Node's own 100 Continue, then a final answer without reading the body (as S3 may refuse mid-upload).
    hasty = http.createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/xml', connection: 'close' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>EarlyRefusal</Code></Error>');
    });
    await new Promise<void>((resolve) => hasty.listen(0, '127.0.0.1', resolve));
    const port = (hasty.address() as AddressInfo).port;
    hastyKura = await startTestKura({ origin: `http://127.0.0.1:${port}` });
  });
  after(async () => {
    await hastyKura?.close();
    hasty?.closeAllConnections();
    await new Promise((resolve) => hasty?.close(resolve));
  });

  test('the client hears the answer and the connection closes: its unread body cannot be skipped', async () => {
    const body = randomBytes(8 * 1024 * KiB);
    const signed = await signRequest(hastyKura.url, { method: 'PUT', path: s3Path(BUCKET, 'early'), body });
    const got = await expectContinue(
      hastyKura.port,
      headOf(signed, ['Expect', '100-continue']),
      body,
      PATIENT_MS,
    );
    assert.deepEqual(got.interim, [100]);
    assert.equal(got.response?.status, 400);
    assert.equal(errorCode(got.response?.body ?? ''), 'EarlyRefusal');
    assert.ok(got.closedByServer, 'Kura closed the connection');
  });
});
