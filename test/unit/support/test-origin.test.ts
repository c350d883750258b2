// The test origin: s3rver behind the SigV4 verifier, driven with real signed requests.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { startTestOrigin, type TestOrigin } from '../../support/origin.js';
import {
  errorCode,
  presign,
  type SignedRequest,
  s3Path,
  sendRaw,
  setHeader,
  sha256Hex,
  signRequest,
} from '../../support/signing.js';

describe('startTestOrigin: s3rver behind the verifier', () => {
  let origin: TestOrigin;
  let s3: S3Client;
  const bucket = 'kura-test';

  before(async () => {
    origin = await startTestOrigin();
    s3 = new S3Client({
      endpoint: origin.url,
      forcePathStyle: true,
      region: origin.region,
      credentials: origin.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  });

  after(async () => {
    // The origin closes first, while the SDK still holds keep-alive sockets: close must not wait for them.
    await origin.close();
    s3.destroy();
  });

  const keys = [
    'plain.txt',
    'with space.txt',
    'unicodé/日本語 ✓.bin',
    'a+b=c&d;e,f.txt',
    'tilde~and~tilde',
    '100%.txt',
    "quote's (paren) *star* !bang",
    'deep/dir/sub dir/leaf',
  ];

  test('SDK Put, Head, Get, List (paginated), Delete round-trip awkward keys', async () => {
    for (const [i, key] of keys.entries()) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `body ${i} of ${key}`,
          ContentType: 'text/plain',
        }),
      );
    }
    for (const [i, key] of keys.entries()) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ContentLength, Buffer.byteLength(`body ${i} of ${key}`));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await got.Body?.transformToString(), `body ${i} of ${key}`);
      const range = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-3' }));
      assert.equal(await range.Body?.transformToString(), 'body');
    }
    // MaxKeys 3 forces continuation tokens, which s3rver encrypts with DES (legacy provider).
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          MaxKeys: 3,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.NextContinuationToken;
    } while (token);
    assert.deepEqual(listed.sort(), [...keys].sort());
    const prefixed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'unicodé/', Delimiter: '/' }),
    );
    assert.deepEqual(
      (prefixed.Contents ?? []).map((o) => o.Key),
      ['unicodé/日本語 ✓.bin'],
    );
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const empty = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.equal(empty.KeyCount, 0);
    assert.ok(origin.requests.length > keys.length * 4);
    assert.deepEqual(
      origin.requests.filter((r) => r.verdict !== 'ok'),
      [],
    );
  });

  test('SDK errors from s3rver pass through (404 NoSuchKey)', async () => {
    await assert.rejects(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' })),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.name, 'NoSuchKey');
        assert.equal(err.$metadata.httpStatusCode, 404);
        return true;
      },
    );
  });

  test('SDK with a wrong secret gets SignatureDoesNotMatch from the verifier', async () => {
    const bad = new S3Client({
      endpoint: origin.url,
      forcePathStyle: true,
      region: origin.region,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    try {
      await assert.rejects(bad.send(new GetObjectCommand({ Bucket: bucket, Key: 'x' })), {
        name: 'SignatureDoesNotMatch',
      });
      // HEAD errors carry no body; the SDK can only report the status.
      await assert.rejects(bad.send(new HeadObjectCommand({ Bucket: bucket, Key: 'x' })), (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.$metadata.httpStatusCode, 403);
        return true;
      });
    } finally {
      bad.destroy();
    }
    const last = origin.requests.at(-1);
    assert.deepEqual([last?.method, last?.verdict], ['HEAD', 'SignatureDoesNotMatch']);
  });

  test('a raw signed PUT reaches s3rver byte for byte and is recorded', async () => {
    const key = 'raw/put ~+%.bin';
    const body = Buffer.from('exact bytes \u00e9');
    const put = await signRequest(origin.url, {
      method: 'PUT',
      path: s3Path(bucket, key),
      body,
      headers: { 'x-amz-meta-k': 'v' },
    });
    const res = await sendRaw(origin.url, put);
    assert.equal(res.status, 200, res.body.toString());
    const rec = origin.requests.at(-1);
    assert.deepEqual(rec, {
      method: 'PUT',
      rawUrl: put.rawUrl,
      // Node's client adds Connection (agent: false); the signed part arrives as sent.
      rawHeaders: [...put.headers, 'Connection', 'close'],
      verdict: 'ok',
      bodyBytes: body.length,
      bodySha256: sha256Hex(body),
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), body);
    assert.equal(got.Metadata?.k, 'v');
  });

  test('presigned GET works; expired, re-encoded or altered ones are refused', async () => {
    const key = 'presigned ~ key+.txt';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'presigned body' }));
    const host = new URL(origin.url).host;
    const url = await presign(origin.url, { method: 'GET', path: s3Path(bucket, key) });
    const ok = await sendRaw(origin.url, { method: 'GET', rawUrl: url, headers: ['Host', host] });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'presigned body');

    const expired = await presign(
      origin.url,
      { method: 'GET', path: s3Path(bucket, key) },
      { signingDate: new Date(Date.now() - 120_000), expiresIn: 60 },
    );
    const cases: [string, number, string][] = [
      [expired, 403, 'AccessDenied'],
      [url.replace('~', '%7E'), 403, 'SignatureDoesNotMatch'],
      [url.replace('X-Amz-Expires=900', 'X-Amz-Expires=901'), 403, 'SignatureDoesNotMatch'],
    ];
    for (const [rawUrl, status, code] of cases) {
      const res = await sendRaw(origin.url, { method: 'GET', rawUrl, headers: ['Host', host] });
      assert.deepEqual([res.status, errorCode(res.body)], [status, code], rawUrl);
      assert.equal(res.headers['content-type'], 'application/xml');
    }
    const head = await sendRaw(origin.url, { method: 'HEAD', rawUrl: expired, headers: ['Host', host] });
    assert.deepEqual([head.status, head.body.length], [403, 0]);
  });

  test('tampering is refused: path, query value, signed header, body', async () => {
    const key = 'tamper me.txt';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '0123456789' }));
    const get = await signRequest(origin.url, {
      method: 'GET',
      path: s3Path(bucket, key),
      query: { 'response-cache-control': 'no-cache' },
      headers: { range: 'bytes=0-4' },
    });
    assert.equal((await sendRaw(origin.url, get)).status, 206);

    const altered: SignedRequest[] = [
      { ...get, rawUrl: get.rawUrl.replace('%20', '+') },
      { ...get, rawUrl: get.rawUrl.replace('no-cache', 'no-store') },
      { ...get, headers: setHeader(get.headers, 'range', 'bytes=0-9') },
    ];
    for (const r of altered) {
      const res = await sendRaw(origin.url, r);
      assert.deepEqual([res.status, errorCode(res.body)], [403, 'SignatureDoesNotMatch']);
    }

    const put = await signRequest(origin.url, {
      method: 'PUT',
      path: s3Path(bucket, 'tampered-body'),
      body: 'good',
    });
    const res = await sendRaw(origin.url, { ...put, body: Buffer.from('evil') });
    assert.deepEqual([res.status, errorCode(res.body)], [400, 'XAmzContentSHA256Mismatch']);
    assert.match(res.body.toString(), new RegExp(`<S3ComputedContentSHA256>${sha256Hex('evil')}<`));
    const rec = origin.requests.at(-1);
    assert.deepEqual(
      [rec?.verdict, rec?.bodyBytes, rec?.bodySha256],
      ['XAmzContentSHA256Mismatch', 4, sha256Hex('evil')],
    );
    // s3rver never saw it.
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tampered-body' })), {
      name: 'NotFound',
    });
  });

  test('an unsigned If-None-Match added after signing is accepted and reaches s3rver (304)', async () => {
    const key = 'conditional.txt';
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'cond' }));
    const get = await signRequest(origin.url, { method: 'GET', path: s3Path(bucket, key) });
    const res = await sendRaw(origin.url, {
      ...get,
      headers: [...get.headers, 'If-None-Match', put.ETag ?? ''],
    });
    assert.equal(res.status, 304);
    assert.equal(origin.requests.at(-1)?.verdict, 'ok');
  });

  test('UNSIGNED-PAYLOAD bodies are forwarded without a hash check', async () => {
    const put = await signRequest(origin.url, {
      method: 'PUT',
      path: s3Path(bucket, 'unsigned-payload'),
      body: 'whatever',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    assert.equal((await sendRaw(origin.url, put)).status, 200);
  });

  test('bodies larger than the hold limit stream through, and a mismatch still fails', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024, 7);
    const key = 'big.bin';
    const put = await signRequest(origin.url, { method: 'PUT', path: s3Path(bucket, key), body: big });
    assert.equal((await sendRaw(origin.url, put)).status, 200);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ContentLength, big.length);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await got.Body?.transformToByteArray();
    assert.equal(
      createHash('sha256')
        .update(bytes ?? new Uint8Array())
        .digest('hex'),
      sha256Hex(big),
    );

    const evil = Buffer.from(big);
    evil[evil.length - 1] = 8;
    const tampered = await signRequest(origin.url, {
      method: 'PUT',
      path: s3Path(bucket, 'big-tampered'),
      body: big,
    });
    const res = await sendRaw(origin.url, { ...tampered, body: evil });
    assert.deepEqual([res.status, errorCode(res.body)], [400, 'XAmzContentSHA256Mismatch']);
    assert.equal(origin.requests.at(-1)?.bodyBytes, big.length);
  });

  test('Expect: 100-continue: refused without the body being sent, accepted with it', async () => {
    const body = Buffer.from('continue body');
    const signed = await signRequest(origin.url, { method: 'PUT', path: s3Path(bucket, 'continue'), body });
    const send = (headers: string[]) =>
      new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        const url = new URL(origin.url);
        let continued = false;
        const r = http.request({
          host: url.hostname,
          port: Number(url.port),
          method: 'PUT',
          path: signed.rawUrl,
          headers: [...headers, 'Expect', '100-continue'],
          setHost: false,
          agent: false,
        });
        r.on('continue', () => {
          continued = true;
          r.end(body);
        });
        r.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
        });
        r.on('error', reject);
        r.flushHeaders();
      });
    assert.deepEqual(await send(signed.headers), { status: 200, continued: true });
    const wrong = setHeader(signed.headers, 'x-amz-meta-added', 'x');
    assert.deepEqual(await send(wrong), { status: 403, continued: false });
    assert.equal(origin.requests.at(-1)?.verdict, 'AccessDenied');
    assert.equal(origin.requests.at(-1)?.bodyBytes, 0);
  });
});

describe('startTestOrigin options', () => {
  test('allowAnonymous forwards unsigned requests; buckets are created', async () => {
    const origin = await startTestOrigin({ buckets: ['one', 'two'], allowAnonymous: true });
    try {
      const host = new URL(origin.url).host;
      const res = await sendRaw(origin.url, {
        method: 'GET',
        rawUrl: '/two?list-type=2',
        headers: ['Host', host],
      });
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), /<Name>two<\/Name>/);
      assert.deepEqual(origin.buckets, ['one', 'two']);
    } finally {
      await origin.close();
    }
  });

  test('without --openssl-legacy-provider, startTestOrigin throws a clear error', () => {
    const originModule = fileURLToPath(new URL('../../support/origin.js', import.meta.url));
    const script = `import(${JSON.stringify(originModule)}).then((m) => m.startTestOrigin()).then(
      () => process.exit(0), (e) => { console.log(e.message); process.exit(3); })`;
    const child = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.status, 3, child.stderr);
    assert.match(child.stdout, /--openssl-legacy-provider/);
  });
});
