// Proves the in-memory origin answers GET/HEAD as Amazon S3 does where s3rver does not (suffix ranges,
// 416, partNumber, multipart ETags, 304/412, checksums), verifies signatures, and injects its faults,
// latency and bandwidth cap.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type MemoryOrigin, type OriginLogEntry, startMemoryOrigin } from '../../support/memory-origin.js';
import {
  errorCode,
  presign,
  type RawResponse,
  type RequestSpec,
  s3Path,
  sendRaw,
  signRequest,
} from '../../support/signing.js';

const BUCKET = 'kura-test';
const BODY = randomBytes(100);
const PARTS = [40, 40, 20];
const MODIFIED = new Date('2024-01-02T03:04:05Z');

interface Req extends Partial<RequestSpec> {
  key?: string;
  /** Headers added after signing, as a proxy or client may add If-None-Match. */
  unsigned?: string[];
  baseUrl?: string;
}

describe('memory origin', () => {
  let origin: MemoryOrigin;
  let s3: S3Client;

  before(async () => {
    origin = await startMemoryOrigin();
    s3 = new S3Client({
      endpoint: origin.url,
      forcePathStyle: true,
      region: origin.region,
      credentials: origin.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    origin.put(BUCKET, 'single', BODY, { lastModified: MODIFIED, contentType: 'text/plain' });
    origin.put(BUCKET, 'multi', BODY, { partSizes: PARTS, lastModified: MODIFIED });
    origin.put(BUCKET, 'empty', Buffer.alloc(0));
  });

  after(async () => {
    await origin.close();
    s3.destroy();
  });

  async function send(r: Req = {}): Promise<RawResponse> {
    const base = r.baseUrl ?? origin.url;
    const signed = await signRequest(base, {
      method: r.method ?? 'GET',
      path: r.path ?? s3Path(BUCKET, r.key ?? 'single'),
      query: r.query ?? {},
      headers: r.headers ?? {},
      ...(r.body === undefined ? {} : { body: r.body }),
    });
    return sendRaw(origin.url, { ...signed, headers: [...signed.headers, ...(r.unsigned ?? [])] });
  }

  /** The log entry of the latest request, once its response is over. */
  async function lastEntry(): Promise<OriginLogEntry> {
    for (let i = 0; i < 100; i++) {
      const entry = origin.requests.at(-1);
      if (entry && entry.status !== 0) return entry;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the last request never finished');
  }

  test('SDK put and get round trip byte for byte, with S3 headers', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 7);
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/a b+c.bin', Body: body, Metadata: { note: 'x y' } }),
    );
    assert.deepEqual(origin.get(BUCKET, 'dir/a b+c.bin')?.body, body);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/a b+c.bin' }));
    assert.deepEqual(Buffer.from(await (got.Body?.transformToByteArray() ?? [])), body);
    assert.equal(got.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    assert.deepEqual(got.Metadata, { note: 'x y' });

    const r = await send({ method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '100');
    assert.equal(r.headers['content-type'], 'text/plain');
    assert.equal(r.headers['last-modified'], MODIFIED.toUTCString());
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers.server, 'AmazonS3');
    assert.match(String(r.headers['x-amz-request-id']), /^[0-9A-F]{16}$/);
    assert.ok(r.headers['x-amz-id-2'] && r.headers.date);
    assert.equal(r.body.length, 0);
  });

  test('ranges: bounded, open, suffix, clipped; invalid or multiple ranges give the whole object', async () => {
    const cases: [string, number, string | undefined, Buffer][] = [
      ['bytes=10-19', 206, 'bytes 10-19/100', BODY.subarray(10, 20)],
      ['bytes=90-', 206, 'bytes 90-99/100', BODY.subarray(90)],
      ['bytes=-10', 206, 'bytes 90-99/100', BODY.subarray(90)],
      ['bytes=-500', 206, 'bytes 0-99/100', BODY],
      ['bytes=95-1000', 206, 'bytes 95-99/100', BODY.subarray(95)],
      ['bytes=0-0', 206, 'bytes 0-0/100', BODY.subarray(0, 1)],
      ['bytes=5-2', 200, undefined, BODY],
      ['bytes=0-1,5-6', 200, undefined, BODY],
      ['items=0-1', 200, undefined, BODY],
    ];
    for (const [range, status, contentRange, body] of cases) {
      const r = await send({ headers: { range } });
      assert.equal(r.status, status, range);
      assert.equal(r.headers['content-range'], contentRange, range);
      assert.deepEqual(r.body, body, range);
      assert.equal(r.headers['content-length'], String(body.length), range);
    }
  });

  test('unsatisfiable ranges answer 416 InvalidRange with bytes */size', async () => {
    for (const [key, range, size] of [
      ['single', 'bytes=100-', 100],
      ['single', 'bytes=-0', 100],
      ['empty', 'bytes=0-0', 0],
      ['empty', 'bytes=-5', 0],
    ] as const) {
      const r = await send({ key, headers: { range } });
      assert.equal(r.status, 416, `${key} ${range}`);
      assert.equal(errorCode(r.body), 'InvalidRange');
      assert.equal(r.headers['content-range'], `bytes */${size}`);
    }
  });

  test('partNumber on a 3-part object: part ranges, parts count, multipart ETag', async () => {
    const digests = [BODY.subarray(0, 40), BODY.subarray(40, 80), BODY.subarray(80)].map((p) =>
      createHash('md5').update(p).digest(),
    );
    const etag = `"${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-3"`;
    assert.equal(origin.get(BUCKET, 'multi')?.etag, etag);
    const whole = await send({ key: 'multi' });
    assert.equal(whole.headers.etag, etag);
    assert.equal(whole.headers['x-amz-mp-parts-count'], undefined);

    for (const [n, range, bytes] of [
      [1, 'bytes 0-39/100', BODY.subarray(0, 40)],
      [2, 'bytes 40-79/100', BODY.subarray(40, 80)],
      [3, 'bytes 80-99/100', BODY.subarray(80)],
    ] as const) {
      const r = await send({ key: 'multi', query: { partNumber: String(n) } });
      assert.equal(r.status, 206);
      assert.equal(r.headers['content-range'], range);
      assert.equal(r.headers['x-amz-mp-parts-count'], '3');
      assert.equal(r.headers.etag, etag);
      assert.deepEqual(r.body, bytes);
    }
    const sdk = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi', PartNumber: 2 }));
    assert.deepEqual([sdk.PartsCount, sdk.ContentLength, sdk.ContentRange], [3, 40, 'bytes 40-79/100']);

    const beyond = await send({ key: 'multi', query: { partNumber: '4' } });
    assert.deepEqual([beyond.status, errorCode(beyond.body)], [416, 'InvalidPartNumber']);
    const both = await send({ key: 'multi', query: { partNumber: '1' }, headers: { range: 'bytes=0-1' } });
    assert.deepEqual([both.status, errorCode(both.body)], [400, 'InvalidRequest']);
    const zero = await send({ key: 'multi', query: { partNumber: '0' } });
    assert.deepEqual([zero.status, errorCode(zero.body)], [400, 'InvalidArgument']);
  });

  test('partNumber on a single-part object: part 1 is the whole object as a range, part 2 is 416', async () => {
    const one = await send({ query: { partNumber: '1' } });
    assert.equal(one.status, 206);
    assert.equal(one.headers['content-range'], 'bytes 0-99/100');
    assert.equal(one.headers['x-amz-mp-parts-count'], undefined);
    assert.deepEqual(one.body, BODY);
    const head = await send({ method: 'HEAD', query: { partNumber: '1' } });
    assert.deepEqual([head.status, head.headers['content-length'], head.body.length], [206, '100', 0]);
    const two = await send({ query: { partNumber: '2' } });
    assert.deepEqual([two.status, errorCode(two.body)], [416, 'InvalidPartNumber']);
  });

  test('conditionals: 304 for If-None-Match and If-Modified-Since, 412 for If-Match and If-Unmodified-Since', async () => {
    const etag = origin.get(BUCKET, 'single')?.etag ?? '';
    const before = new Date(MODIFIED.getTime() - 1000).toUTCString();
    const at = MODIFIED.toUTCString();
    const cases: [string[], number, string?][] = [
      [['If-None-Match', etag], 304],
      [['If-None-Match', `W/${etag}`], 304],
      [['If-None-Match', '*'], 304],
      [['If-None-Match', `"other", ${etag}`], 304],
      [['If-None-Match', '"other"'], 200],
      [['If-Modified-Since', at], 304],
      [['If-Modified-Since', before], 200],
      [['If-Modified-Since', 'not a date'], 200],
      [['If-None-Match', '"other"', 'If-Modified-Since', at], 200],
      [['If-Match', etag], 200],
      [['If-Match', '*'], 200],
      [['If-Match', '"other"'], 412, 'If-Match'],
      [['If-Match', `W/${etag}`], 412, 'If-Match'],
      [['If-Unmodified-Since', before], 412, 'If-Unmodified-Since'],
      [['If-Unmodified-Since', at], 200],
      [['If-Match', etag, 'If-Unmodified-Since', before], 200],
      [['If-Match', '"other"', 'If-None-Match', etag], 412, 'If-Match'],
    ];
    for (const [unsigned, status, condition] of cases) {
      const r = await send({ unsigned });
      const what = unsigned.join(': ');
      assert.equal(r.status, status, what);
      if (status === 304) {
        assert.deepEqual([r.headers.etag, r.headers['last-modified'], r.body.length], [etag, at, 0], what);
      }
      if (status === 412) {
        assert.equal(errorCode(r.body), 'PreconditionFailed', what);
        assert.match(r.body.toString(), new RegExp(`<Condition>${condition}</Condition>`), what);
      }
      if (status === 200) assert.deepEqual(r.body, BODY, what);
    }
    const head = await send({ method: 'HEAD', unsigned: ['If-None-Match', etag] });
    assert.equal(head.status, 304);
  });

  test('a tampered signature is refused 403 and logged; so are anonymous requests', async () => {
    const signed = await signRequest(origin.url, { method: 'GET', path: s3Path(BUCKET, 'single') });
    const headers = signed.headers.map((h) =>
      h.replace(/Signature=([0-9a-f])/, (_, c) => `Signature=${c === '0' ? '1' : '0'}`),
    );
    assert.notDeepEqual(headers, signed.headers);
    const r = await sendRaw(origin.url, { ...signed, headers });
    assert.deepEqual([r.status, errorCode(r.body)], [403, 'SignatureDoesNotMatch']);
    assert.equal((await lastEntry()).verdict, 'SignatureDoesNotMatch');

    const changedPath = await sendRaw(origin.url, { ...signed, rawUrl: s3Path(BUCKET, 'multi') });
    assert.equal(changedPath.status, 403);
    const anon = await sendRaw(origin.url, {
      method: 'GET',
      rawUrl: s3Path(BUCKET, 'single'),
      headers: ['Host', new URL(origin.url).host],
    });
    assert.deepEqual([anon.status, errorCode(anon.body)], [403, 'AccessDenied']);
    const good = await sendRaw(origin.url, signed);
    assert.equal(good.status, 200);
    assert.equal((await lastEntry()).verdict, 'ok');
  });

  test('presigned URLs work until they expire', async () => {
    const host = ['Host', new URL(origin.url).host];
    const url = await presign(
      origin.url,
      { method: 'GET', path: s3Path(BUCKET, 'single') },
      { expiresIn: 60 },
    );
    const ok = await sendRaw(origin.url, { method: 'GET', rawUrl: url, headers: host });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, BODY);

    const signingDate = new Date(Date.now() - 120_000);
    const old = await presign(
      origin.url,
      { method: 'GET', path: s3Path(BUCKET, 'single') },
      { expiresIn: 60, signingDate },
    );
    const expired = await sendRaw(origin.url, { method: 'GET', rawUrl: old, headers: host });
    assert.deepEqual([expired.status, errorCode(expired.body)], [403, 'AccessDenied']);
    assert.match(expired.body.toString(), /Request has expired/);
  });

  test('virtual-hosted addressing', async () => {
    for (const host of ['kura-test.s3.amazonaws.com', 'kura-test.s3.us-east-1.amazonaws.com']) {
      const r = await send({ baseUrl: `http://${host}`, path: '/single' });
      assert.equal(r.status, 200, host);
      assert.deepEqual(r.body, BODY, host);
    }
  });

  test('query: x-id ignored, response-* overrides honoured, anything else 501', async () => {
    const r = await send({ query: { 'x-id': 'GetObject', 'response-content-type': 'image/png' } });
    assert.deepEqual([r.status, r.headers['content-type']], [200, 'image/png']);
    const other = await send({ query: { versionId: 'v1' } });
    assert.deepEqual([other.status, errorCode(other.body)], [501, 'NotImplemented']);
  });

  test('x-amz-checksum-mode: CRC32 on whole-object answers only', async () => {
    const got = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'multi', ChecksumMode: 'ENABLED' }),
    );
    // The SDK checks the body against the checksum while it is read: a wrong one would reject here.
    assert.deepEqual(Buffer.from(await (got.Body?.transformToByteArray() ?? [])), BODY);
    assert.equal(got.ChecksumCRC32, origin.get(BUCKET, 'multi')?.checksumCrc32);

    const mode = { 'x-amz-checksum-mode': 'ENABLED' };
    const whole = await send({ headers: mode });
    assert.equal(whole.headers['x-amz-checksum-crc32'], origin.get(BUCKET, 'single')?.checksumCrc32);
    assert.match(String(whole.headers['x-amz-checksum-crc32']), /^[A-Za-z0-9+/]{6}==$/);
    const head = await send({ method: 'HEAD', headers: mode });
    assert.equal(head.headers['x-amz-checksum-crc32'], whole.headers['x-amz-checksum-crc32']);
    const ranged = await send({ headers: { ...mode, range: 'bytes=0-9' } });
    assert.deepEqual([ranged.status, ranged.headers['x-amz-checksum-crc32']], [206, undefined]);
    const part = await send({ key: 'multi', headers: mode, query: { partNumber: '1' } });
    assert.equal(part.headers['x-amz-checksum-crc32'], undefined);
    const off = await send();
    assert.equal(off.headers['x-amz-checksum-crc32'], undefined);
  });

  test('faults: truncate cuts the body after N bytes, status and reset, each for `count` requests', async () => {
    origin.injectFault({ kind: 'truncate', afterBytes: 30 });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'single' }));
    assert.equal(got.ContentLength, 100);
    await assert.rejects(got.Body?.transformToByteArray() ?? Promise.resolve());
    const cut = await lastEntry();
    assert.deepEqual([cut.status, cut.bodyBytesSent, cut.fault], [200, 30, 'truncate']);
    assert.deepEqual((await send()).body, BODY);

    origin.injectFault({ kind: 'status', status: 503, count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await send({ method: i === 0 ? 'GET' : 'HEAD' });
      assert.equal(r.status, 503);
      if (i === 0) assert.equal(errorCode(r.body), 'SlowDown');
    }
    origin.injectFault({ kind: 'status', status: 500, code: 'InternalError' });
    assert.equal(errorCode((await send()).body), 'InternalError');
    assert.equal((await send()).status, 200);

    origin.injectFault({ kind: 'reset' });
    await assert.rejects(send(), /ECONNRESET|socket hang up/);
    origin.injectFault({ kind: 'reset' });
    origin.clearFaults();
    assert.equal((await send()).status, 200);
  });

  test('PUT checks x-amz-content-sha256; DELETE; NoSuchKey and NoSuchBucket', async () => {
    const bad = await send({
      method: 'PUT',
      key: 'put-me',
      body: 'hello',
      headers: { 'x-amz-content-sha256': createHash('sha256').update('other').digest('hex') },
    });
    assert.deepEqual([bad.status, errorCode(bad.body)], [400, 'XAmzContentSHA256Mismatch']);
    assert.equal(origin.get(BUCKET, 'put-me'), undefined);
    const ok = await send({
      method: 'PUT',
      key: 'put-me',
      body: 'hello',
      headers: { 'content-type': 'a/b' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.etag, `"${createHash('md5').update('hello').digest('hex')}"`);
    assert.equal((await send({ key: 'put-me' })).headers['content-type'], 'a/b');
    assert.equal((await send({ method: 'DELETE', key: 'put-me' })).status, 204);
    const gone = await send({ key: 'put-me' });
    assert.deepEqual([gone.status, errorCode(gone.body)], [404, 'NoSuchKey']);
    const noBucket = await send({ path: s3Path('no-such-bucket', 'k') });
    assert.deepEqual([noBucket.status, errorCode(noBucket.body)], [404, 'NoSuchBucket']);
  });

  test('put() refuses part sizes that do not add up to the body', () => {
    assert.throws(() => origin.put(BUCKET, 'x', BODY, { partSizes: [50, 49] }), /sum/);
    assert.throws(() => origin.put('nope', 'x', BODY), /no bucket/);
  });
});

describe('memory origin with latency and a bandwidth cap', () => {
  let origin: MemoryOrigin;
  const size = 256 * 1024;

  before(async () => {
    origin = await startMemoryOrigin({
      allowAnonymous: true,
      firstByteLatencyMs: 150,
      bandwidthBytesPerSec: 1024 * 1024,
    });
    origin.put(BUCKET, 'big', randomBytes(size));
  });

  after(() => origin.close());

  test('headers wait for the latency, the body for the bandwidth', async () => {
    const started = performance.now();
    const res = await fetch(`${origin.url}/${BUCKET}/big`);
    const headersAt = performance.now() - started;
    const body = Buffer.from(await res.arrayBuffer());
    const doneAt = performance.now() - started;
    assert.equal(res.status, 200);
    assert.deepEqual(body, origin.get(BUCKET, 'big')?.body);
    assert.ok(headersAt >= 145, `headers after ${headersAt} ms`);
    // 256 KiB at 1 MiB/s: the first 1/20 s slice goes at once, the rest over ~200 ms.
    assert.ok(doneAt - headersAt >= 180, `body took ${doneAt - headersAt} ms`);
    assert.ok(doneAt < 5000, `took ${doneAt} ms`);
  });
});
