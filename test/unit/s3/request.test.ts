import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseS3Request } from '../../../src/s3/request.js';
import type { S3Request } from '../../../src/s3/types.js';
import { ACCEPTED, SIG } from './request-cases.js';

function run(method: string, target: string, headers: string[]) {
  return parseS3Request({ method, target, headers });
}

describe('parseS3Request: accepted', () => {
  for (const c of ACCEPTED) {
    it(c.name, () => {
      const result = run(c.method ?? 'GET', c.target, ['Host', c.host, ...(c.headers ?? [])]);
      assert.ok(result.ok, JSON.stringify(result));
      const r: S3Request = result.request;
      assert.equal(r.endpoint.kind, c.expect.kind);
      assert.equal(r.bucket, c.expect.bucket);
      assert.equal(r.key, c.expect.key);
      assert.equal(r.operation.name, c.expect.operation);
      assert.equal(r.hostHeader, c.host);
      assert.equal(r.method, c.method ?? 'GET');
      assert.equal(r.absoluteForm, c.expect.absoluteForm ?? false);
      if (c.expect.rawPath !== undefined) assert.equal(r.rawPath, c.expect.rawPath);
      const expectedQuery = c.target.includes('?') ? c.target.slice(c.target.indexOf('?') + 1) : null;
      assert.equal(r.rawQuery, c.expect.rawQuery === undefined ? expectedQuery : c.expect.rawQuery);
    });
  }

  it('keeps the whole model', () => {
    const result = run('GET', '/b/k?partNumber=3&x-id=GetObject', [
      'host',
      'localhost:9000',
      'Authorization',
      `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;range, Signature=${SIG}`,
      'X-Amz-Date',
      '20240101T000000Z',
      'Range',
      'bytes=0-9',
    ]);
    assert.ok(result.ok);
    const r = result.request;
    assert.deepEqual(r.host, { hostname: 'localhost', port: 9000, kind: 'dns' });
    assert.deepEqual(r.query, [
      { name: 'partNumber', value: '3' },
      { name: 'x-id', value: 'GetObject' },
    ]);
    assert.deepEqual(r.operation, { name: 'GetObject', partNumber: 3, uploadId: null, versionId: null });
    assert.equal(r.signature.kind, 'sigv4');
    assert.ok(r.signature.kind === 'sigv4' && r.signature.signedHeaders.has('range'));
    assert.equal(r.rawPath, '/b/k');
  });

  it('reads a presigned URL from the decoded query', () => {
    const query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
      `&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`;
    const result = run('GET', `/k?${query}`, ['Host', 'b.s3.amazonaws.com']);
    assert.ok(result.ok);
    assert.equal(result.request.operation.name, 'GetObject');
    const sig = result.request.signature;
    assert.ok(sig.kind === 'sigv4' && sig.location === 'query');
    assert.equal(sig.expiresAt?.toISOString(), '2024-01-01T00:01:00.000Z');
  });
});

describe('parseS3Request: refused', () => {
  const cases: [string, string, string, string[], number, string][] = [
    ['no Host', 'GET', '/b/k', [], 400, 'InvalidRequest'],
    ['two Host headers', 'GET', '/b/k', ['Host', 'a', 'host', 'a'], 400, 'InvalidRequest'],
    ['two different Host headers', 'GET', '/b/k', ['Host', 'a', 'Host', 'evil'], 400, 'InvalidRequest'],
    ['invalid Host', 'GET', '/b/k', ['Host', 'a b'], 400, 'InvalidArgument'],
    ['Host with userinfo', 'GET', '/b/k', ['Host', 'user@s3.amazonaws.com'], 400, 'InvalidArgument'],
    ['Host with path', 'GET', '/b/k', ['Host', 's3.amazonaws.com/evil'], 400, 'InvalidArgument'],
    ['Host with CRLF', 'GET', '/b/k', ['Host', 's3.amazonaws.com\r\nX-Evil: 1'], 400, 'InvalidArgument'],
    ['empty Host', 'GET', '/b/k', ['Host', ''], 400, 'InvalidArgument'],
    ['unbracketed IPv6 Host', 'GET', '/b/k', ['Host', '::1'], 400, 'InvalidArgument'],
    ['asterisk target', 'OPTIONS', '*', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['authority-form target', 'CONNECT', 'localhost:443', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['relative target', 'GET', 'b/k', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['fragment', 'GET', '/b/k#x', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['control character in target', 'GET', '/b/k\u0001', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['malformed percent in key', 'GET', '/b/k%ZZ', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['malformed percent in bucket', 'GET', '/b%/k', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['malformed percent, virtual style', 'GET', '/k%', ['Host', 'b.s3.amazonaws.com'], 400, 'InvalidURI'],
    ['invalid UTF-8 in key', 'GET', '/b/%FF', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['malformed percent in query', 'GET', '/b/k?a=%G1', ['Host', 'localhost'], 400, 'InvalidURI'],
    ['invalid UTF-8 in query', 'GET', '/b/k?%C3=1', ['Host', 'localhost'], 400, 'InvalidURI'],
    [
      'absolute-form authority differs from Host',
      'GET',
      'http://evil.example/b/k',
      ['Host', 's3.amazonaws.com'],
      400,
      'InvalidRequest',
    ],
    [
      'absolute-form port differs from Host',
      'GET',
      'http://localhost:9001/b/k',
      ['Host', 'localhost:9000'],
      400,
      'InvalidRequest',
    ],
    [
      'absolute-form with the default port written out, Host naming another host',
      'GET',
      'http://localhost:80/b/k',
      ['Host', 'evil.example:9000'],
      400,
      'InvalidRequest',
    ],
    [
      'absolute-form without a port, Host with another port',
      'GET',
      'http://localhost/b/k',
      ['Host', 'localhost:9000'],
      400,
      'InvalidRequest',
    ],
    [
      "absolute-form http with https's default port, Host without a port",
      'GET',
      'http://localhost:443/b/k',
      ['Host', 'localhost'],
      400,
      'InvalidRequest',
    ],
    [
      "absolute-form https without a port, Host with http's default",
      'GET',
      'https://localhost/b/k',
      ['Host', 'localhost:80'],
      400,
      'InvalidRequest',
    ],
    [
      'absolute-form with a port, Host without one',
      'GET',
      'http://localhost:9000/b/k',
      ['Host', 'localhost'],
      400,
      'InvalidRequest',
    ],
    ['absolute-form without Host', 'GET', 'http://localhost/b/k', [], 400, 'InvalidRequest'],
    ['absolute-form empty authority', 'GET', 'http:///b/k', ['Host', 'localhost'], 400, 'InvalidArgument'],
    [
      'absolute-form userinfo',
      'GET',
      'http://u@localhost/b',
      ['Host', 'u@localhost'],
      400,
      'InvalidArgument',
    ],
    ['absolute-form other scheme', 'GET', 'ftp://localhost/b', ['Host', 'localhost'], 400, 'InvalidURI'],
  ];
  for (const [name, method, target, headers, status, code] of cases) {
    it(name, () => {
      const result = run(method, target, headers);
      assert.equal(result.ok, false, JSON.stringify(result));
      assert.ok(!result.ok);
      assert.equal(result.error.status, status);
      assert.equal(result.error.code, code);
    });
  }
});

describe('parseS3Request: a repeated target', () => {
  it('is placed by its own Host and method every time, whatever was parsed before', () => {
    const target = '/photos/cat.jpg?x-id=GetObject';
    const virtual = run('GET', target, ['Host', 'media.s3.us-east-1.amazonaws.com']);
    const path = run('GET', target, ['Host', 's3.us-east-1.amazonaws.com']);
    assert.ok(virtual.ok && path.ok);
    assert.deepEqual([virtual.request.bucket, virtual.request.key], ['media', 'photos/cat.jpg']);
    assert.deepEqual([path.request.bucket, path.request.key], ['photos', 'cat.jpg']);
    const put = run('PUT', '/photos/cat.jpg', ['Host', 's3.us-east-1.amazonaws.com']);
    const copy = run('PUT', '/photos/cat.jpg', [
      'Host',
      's3.us-east-1.amazonaws.com',
      'x-amz-copy-source',
      '/photos/dog.jpg',
    ]);
    const head = run('HEAD', '/photos/cat.jpg', ['Host', 's3.us-east-1.amazonaws.com']);
    assert.ok(put.ok && copy.ok && head.ok);
    assert.equal(put.request.operation.name, 'PutObject');
    assert.equal(copy.request.operation.name, 'CopyObject', 'a header still decides a PUT');
    assert.equal(head.request.operation.name, 'HeadObject');
  });

  it('still refuses a request whose Host headers are wrong, and reads each signature afresh', () => {
    const target = '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256';
    assert.ok(run('GET', target, ['Host', 'localhost']).ok);
    const twice = run('GET', target, ['Host', 'localhost', 'Host', 'localhost']);
    assert.ok(!twice.ok && twice.error.code === 'InvalidRequest');
    const none = run('GET', target, []);
    assert.ok(!none.ok && none.error.code === 'InvalidRequest');
    const signed = run('GET', '/b/k', ['Host', 'localhost', 'Authorization', 'AWS4-HMAC-SHA256 junk']);
    const unsigned = run('GET', '/b/k', ['Host', 'localhost']);
    assert.ok(signed.ok && unsigned.ok);
    assert.notEqual(signed.request.signature.kind, unsigned.request.signature.kind);
  });

  it("reads a presigned URL's signature from its query, and headers that change it every time", () => {
    const target =
      '/b/presigned?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc';
    const first = run('GET', target, ['Host', 'localhost']);
    const again = run('GET', target, ['Host', 'localhost']);
    const hashed = run('GET', target, ['Host', 'localhost', 'x-amz-content-sha256', 'UNSIGNED-PAYLOAD']);
    const both = run('GET', target, ['Host', 'localhost', 'Authorization', 'AWS4-HMAC-SHA256 junk']);
    assert.ok(first.ok && again.ok && hashed.ok && both.ok);
    const sig = again.request.signature;
    assert.ok(sig.kind === 'sigv4' && sig.location === 'query');
    assert.equal(sig.expiresAt?.toISOString(), '2024-01-01T00:01:00.000Z');
    assert.equal(sig.payloadHash, null);
    const withHash = hashed.request.signature;
    assert.ok(withHash.kind === 'sigv4' && withHash.payloadHash === 'UNSIGNED-PAYLOAD');
    assert.equal(both.request.signature.kind, 'unreadable', 'two ways of signing: S3 refuses it');
    const after = run('GET', target, ['Host', 'localhost']);
    assert.ok(after.ok && after.request.signature.kind === 'sigv4');
  });
});
