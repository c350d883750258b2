// Proves the test origin's SigV4 verifier right (it accepts what real signers produce, including AWS's
// published examples) and strict (it refuses every alteration a proxy could make). The origin built on
// it is tested in test-origin.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  presign,
  type SignedRequest,
  s3Path,
  setHeader,
  sha256Hex,
  signRequest,
} from '../../support/signing.js';
import { type RawRequest, type SigV4Verdict, verifySigV4 } from '../../support/sigv4.js';

const S3RVER = (id: string) => (id === 'S3RVER' ? 'S3RVER' : undefined);
const BASE = 'http://127.0.0.1:9000';

const raw = (r: SignedRequest): RawRequest => ({ method: r.method, rawUrl: r.rawUrl, rawHeaders: r.headers });

function assertFails(v: SigV4Verdict, status: number, code: string): void {
  assert.equal(v.ok, false, `expected ${status} ${code}, got ok`);
  if (!v.ok) assert.deepEqual([v.status, v.code], [status, code], v.message);
}

describe('verifySigV4 against AWS published examples', () => {
  // Examples from the Amazon S3 API reference ("Signature calculation: Authorization header" and
  // "query parameters"), with the documented credentials and signatures.
  const secret = (id: string) =>
    id === 'AKIAIOSFODNN7EXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' : undefined;
  const at = new Date('2013-05-24T00:05:00Z');

  test('GET Object with Range (header form, no spaces after commas)', () => {
    const v = verifySigV4(
      {
        method: 'GET',
        rawUrl: '/test.txt',
        rawHeaders: [
          'Host',
          'examplebucket.s3.amazonaws.com',
          'Authorization',
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
            'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
            'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
          'x-amz-date',
          '20130524T000000Z',
          'Range',
          'bytes=0-9',
          'x-amz-content-sha256',
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        ],
      },
      secret,
      at,
    );
    assert.deepEqual(v, {
      ok: true,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  test('presigned GET Object (query form)', () => {
    const req = {
      method: 'GET',
      rawUrl:
        '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'],
    };
    assert.deepEqual(verifySigV4(req, secret, at), {
      ok: true,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    assertFails(verifySigV4(req, secret, new Date('2013-05-25T00:00:01Z')), 403, 'AccessDenied');
  });
});

describe('verifySigV4 with requests signed by @smithy/signature-v4', () => {
  const now = new Date();
  const sign = (spec: Parameters<typeof signRequest>[1], opts: Parameters<typeof signRequest>[2] = {}) =>
    signRequest(BASE, spec, { signingDate: now, ...opts });
  const verify = (r: RawRequest, opts: Parameters<typeof verifySigV4>[3] = {}, at = now) =>
    verifySigV4(r, S3RVER, at, { region: 'us-east-1', ...opts });

  test('accepts a GET with a tricky key, query and signed range', async () => {
    const r = await sign({
      method: 'GET',
      path: s3Path('bucket', 'dir/a b+c~d%e(f)*é日本.txt'),
      query: { versionId: 'v 1+2/3', 'response-content-type': 'text/plain; charset=utf-8' },
      headers: { range: 'bytes=0-9' },
    });
    assert.match(r.rawUrl, /a%20b%2Bc~d%25e%28f%29%2A%C3%A9%E6%97%A5%E6%9C%AC\.txt/);
    assert.deepEqual(verify(raw(r)), { ok: true, accessKeyId: 'S3RVER', payloadHash: sha256Hex('') });
  });

  test('accepts a PUT with a body hash, metadata and several headers', async () => {
    const r = await sign({
      method: 'PUT',
      path: s3Path('bucket', 'k'),
      body: 'hello',
      headers: {
        'content-type': 'text/plain',
        'x-amz-meta-note': '  two   spaces  ',
        'x-amz-acl': 'private',
      },
    });
    assert.equal(verify(raw(r)).ok, true);
  });

  test('accepts query parameters in any order, and `+` or %20 for a space in the query', async () => {
    const r = await sign({
      method: 'GET',
      path: '/bucket',
      query: { 'list-type': '2', prefix: 'a b', delimiter: '/' },
    });
    const [path, query = ''] = r.rawUrl.split('?');
    const reordered = `${path}?${query.split('&').reverse().join('&')}`;
    assert.equal(verify({ ...raw(r), rawUrl: reordered }).ok, true);
    assert.equal(verify({ ...raw(r), rawUrl: r.rawUrl.replace('a%20b', 'a+b') }).ok, true);
  });

  test('accepts header names in any case and extra whitespace in values', async () => {
    const r = await sign({ method: 'GET', path: '/bucket/k', headers: { range: 'bytes=0-9' } });
    const headers = r.headers.map((h, i) => (i % 2 === 0 ? h.toUpperCase() : ` ${h.replace(/ /g, '   ')}  `));
    assert.equal(verify({ ...raw(r), rawHeaders: headers }).ok, true);
  });

  test('accepts unsigned headers added after signing (conditionals, user-agent)', async () => {
    const r = await sign({ method: 'GET', path: '/bucket/k' });
    const headers = [
      ...r.headers,
      'If-None-Match',
      '"abc"',
      'If-Modified-Since',
      'Sat, 01 Jan 2000 00:00:00 GMT',
      'If-Match',
      '"def"',
      'User-Agent',
      'test',
    ];
    assert.equal(verify({ ...raw(r), rawHeaders: headers }).ok, true);
  });

  test('refuses a path re-encoded by a proxy, even to an equivalent form', async () => {
    const r = await sign({ method: 'GET', path: s3Path('bucket', 'a~b c') });
    for (const altered of [
      r.rawUrl.replace('~', '%7E'),
      r.rawUrl.replace('%20', '+'),
      r.rawUrl.replace('/a', '/%61'),
      r.rawUrl.replace('bucket/', 'bucket//'),
    ]) {
      assertFails(verify({ ...raw(r), rawUrl: altered }), 403, 'SignatureDoesNotMatch');
    }
  });

  test('refuses changed, added or removed query parameters', async () => {
    const r = await sign({ method: 'GET', path: '/bucket', query: { 'list-type': '2', prefix: 'a' } });
    for (const altered of [
      r.rawUrl.replace('prefix=a', 'prefix=b'),
      `${r.rawUrl}&max-keys=1`,
      r.rawUrl.replace('&prefix=a', ''),
      r.rawUrl.replace('prefix=a', 'prefix=a&prefix=a'),
    ]) {
      assertFails(verify({ ...raw(r), rawUrl: altered }), 403, 'SignatureDoesNotMatch');
    }
  });

  test('refuses a changed, duplicated or dropped signed header', async () => {
    const r = await sign({ method: 'GET', path: '/bucket/k', headers: { range: 'bytes=0-9' } });
    const changed = setHeader(r.headers, 'range', 'bytes=0-10');
    const duplicated = [...r.headers, 'Range', 'bytes=0-9'];
    const i = r.headers.indexOf('range');
    const dropped = r.headers.filter((_, j) => j !== i && j !== i + 1);
    const otherHost = setHeader(r.headers, 'host', 'localhost:9000');
    for (const headers of [changed, duplicated, dropped, otherHost]) {
      assertFails(verify({ ...raw(r), rawHeaders: headers }), 403, 'SignatureDoesNotMatch');
    }
    assertFails(verify({ ...raw(r), method: 'HEAD' }), 403, 'SignatureDoesNotMatch');
  });

  test('refuses x-amz-* headers that were not signed', async () => {
    const r = await sign({ method: 'PUT', path: '/bucket/k', body: 'x' });
    const v = verify({ ...raw(r), rawHeaders: [...r.headers, 'x-amz-acl', 'public-read'] });
    assertFails(v, 403, 'AccessDenied');
    assert.match(v.ok ? '' : v.message, /x-amz-acl/);
  });

  test('refuses a changed payload hash', async () => {
    const r = await sign({ method: 'PUT', path: '/bucket/k', body: 'x' });
    const headers = setHeader(r.headers, 'x-amz-content-sha256', sha256Hex('y'));
    assertFails(verify({ ...raw(r), rawHeaders: headers }), 403, 'SignatureDoesNotMatch');
    const bogus = setHeader(r.headers, 'x-amz-content-sha256', 'not-a-hash');
    assertFails(verify({ ...raw(r), rawHeaders: bogus }), 400, 'InvalidArgument');
  });

  test('requires x-amz-content-sha256 with the Authorization header', async () => {
    const r = await sign({ method: 'GET', path: '/bucket/k' });
    const headers = r.headers.filter((_, i, a) => a[i - (i % 2)] !== 'x-amz-content-sha256');
    assertFails(verify({ ...raw(r), rawHeaders: headers }), 400, 'InvalidRequest');
  });

  test('refuses a wrong secret, an unknown key, a wrong region, and clock skew', async () => {
    const spec = { method: 'GET', path: '/bucket/k' };
    assertFails(verify(raw(await sign(spec, { secretAccessKey: 'nope' }))), 403, 'SignatureDoesNotMatch');
    assertFails(verify(raw(await sign(spec, { accessKeyId: 'AKIDUNKNOWN' }))), 403, 'InvalidAccessKeyId');
    assertFails(verify(raw(await sign(spec, { region: 'eu-west-1' }))), 400, 'AuthorizationHeaderMalformed');
    const old = await sign(spec, { signingDate: new Date(now.getTime() - 16 * 60_000) });
    assertFails(verify(raw(old)), 403, 'RequestTimeTooSkewed');
    const future = await sign(spec, { signingDate: new Date(now.getTime() + 16 * 60_000) });
    assertFails(verify(raw(future)), 403, 'RequestTimeTooSkewed');
    const slightlyOld = await sign(spec, { signingDate: new Date(now.getTime() - 14 * 60_000) });
    assert.equal(verify(raw(slightlyOld)).ok, true);
  });

  test('refuses a scope date that differs from x-amz-date, and unsigned host', async () => {
    const r = await sign({ method: 'GET', path: '/bucket/k' });
    const auth = r.headers[r.headers.indexOf('authorization') + 1] ?? '';
    const otherDay = auth.replace(
      /\/(\d{8})\//,
      (_, d: string) => `/${d === '20000101' ? '20000102' : '20000101'}/`,
    );
    assertFails(
      verify({ ...raw(r), rawHeaders: setHeader(r.headers, 'authorization', otherDay) }),
      400,
      'AuthorizationHeaderMalformed',
    );
    const noHost = auth.replace('SignedHeaders=host;', 'SignedHeaders=');
    assertFails(
      verify({ ...raw(r), rawHeaders: setHeader(r.headers, 'authorization', noHost) }),
      400,
      'AuthorizationHeaderMalformed',
    );
  });

  test('refuses anonymous requests unless allowed', () => {
    const anonymous = { method: 'GET', rawUrl: '/bucket/k', rawHeaders: ['Host', '127.0.0.1:9000'] };
    assertFails(verify(anonymous), 403, 'AccessDenied');
    assert.deepEqual(verify(anonymous, { allowAnonymous: true }), {
      ok: true,
      accessKeyId: '',
      payloadHash: 'UNSIGNED-PAYLOAD',
      anonymous: true,
    });
  });

  test('refuses SigV2, SigV4A, unknown schemes and mixed mechanisms with a clear code', async () => {
    const h = (auth: string) => ({
      method: 'GET',
      rawUrl: '/bucket/k',
      rawHeaders: ['Host', 'h', 'Authorization', auth],
    });
    assertFails(verify(h('AWS S3RVER:c2lnbmF0dXJl')), 400, 'InvalidRequest');
    assertFails(
      verify(
        h(
          'AWS4-ECDSA-P256-SHA256 Credential=S3RVER/20250101/s3/aws4_request, SignedHeaders=host, Signature=00',
        ),
      ),
      400,
      'InvalidRequest',
    );
    assertFails(verify(h('Bearer xyz')), 400, 'InvalidArgument');
    assertFails(verify(h('AWS4-HMAC-SHA256 Credential=S3RVER')), 400, 'AuthorizationHeaderMalformed');
    const v2query = {
      method: 'GET',
      rawUrl: '/b/k?AWSAccessKeyId=S3RVER&Expires=1&Signature=x',
      rawHeaders: ['Host', 'h'],
    };
    assertFails(verify(v2query), 400, 'InvalidRequest');
    const url = await presign(BASE, { method: 'GET', path: '/bucket/k' }, { signingDate: now });
    const signed = await sign({ method: 'GET', path: '/bucket/k' });
    assertFails(verify({ ...raw(signed), rawUrl: url }), 400, 'InvalidArgument');
  });

  test('accepts presigned URLs and refuses altered or expired ones', async () => {
    const spec = {
      method: 'GET',
      path: s3Path('bucket', 'a b+~.txt'),
      query: { 'response-content-type': 'a/b' },
    };
    const url = await presign(BASE, spec, { signingDate: now, expiresIn: 60 });
    const req = { method: 'GET', rawUrl: url, rawHeaders: ['Host', '127.0.0.1:9000'] };
    assert.deepEqual(verify(req), { ok: true, accessKeyId: 'S3RVER', payloadHash: 'UNSIGNED-PAYLOAD' });
    assert.equal(verify({ ...req, rawHeaders: [...req.rawHeaders, 'Range', 'bytes=0-1'] }).ok, true);

    assertFails(verify(req, {}, new Date(now.getTime() + 61_000)), 403, 'AccessDenied');
    assertFails(verify({ ...req, rawUrl: url.replace('a%2Fb', 'a%2Fc') }), 403, 'SignatureDoesNotMatch');
    assertFails(
      verify({ ...req, rawUrl: url.replace('X-Amz-Expires=60', 'X-Amz-Expires=61') }),
      403,
      'SignatureDoesNotMatch',
    );
    assertFails(verify({ ...req, rawUrl: url.replace('~', '%7E') }), 403, 'SignatureDoesNotMatch');
    assertFails(verify({ ...req, rawHeaders: ['Host', 'localhost:9000'] }), 403, 'SignatureDoesNotMatch');
    assertFails(verify({ ...req, method: 'PUT' }), 403, 'SignatureDoesNotMatch');
    assertFails(
      verify({ ...req, rawUrl: url.replace(/&X-Amz-Date=[^&]*/, '') }),
      400,
      'AuthorizationQueryParametersError',
    );
    assertFails(
      verify({ ...req, rawHeaders: [...req.rawHeaders, 'x-amz-server-side-encryption', 'AES256'] }),
      403,
      'AccessDenied',
    );
    const week = await presign(BASE, spec, { signingDate: now, expiresIn: 604_800 });
    assert.equal(verify({ ...req, rawUrl: week }).ok, true);
    const tooLong = week.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801');
    assertFails(verify({ ...req, rawUrl: tooLong }), 400, 'AuthorizationQueryParametersError');
  });
});
