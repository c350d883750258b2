import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SignatureFacts } from '../../../src/s3/types.js';
import {
  expectsContinue,
  hasRequestBody,
  requestHeadersForUpstream,
  responseHeadersForClient,
} from '../../../src/upstream/headers.js';

function v4(signed: string[]): SignatureFacts {
  return {
    kind: 'sigv4',
    location: 'header',
    accessKeyId: 'AKID',
    date: new Date(),
    scope: { date: '20260101', region: 'us-east-1', service: 's3' },
    regionSet: null,
    signedHeaders: new Set(signed),
    expiresAt: null,
    payloadHash: 'UNSIGNED-PAYLOAD',
  };
}

describe('requestHeadersForUpstream', () => {
  test('end-to-end headers pass in order, case and duplicates kept; hop-by-hop ones are dropped', () => {
    const raw = [
      'Host',
      'b.s3.amazonaws.com',
      'X-Amz-Meta-A',
      'one',
      'Connection',
      'keep-alive, X-Private',
      'X-Private',
      'secret',
      'x-amz-meta-a',
      'two',
      'Proxy-Authorization',
      'Basic abc',
      'Expect',
      '100-continue',
      'Transfer-Encoding',
      'chunked',
      'TE',
      'trailers',
      'Range',
      'bytes=0-1',
    ];
    const r = requestHeadersForUpstream(raw, v4(['host', 'range']), null);
    assert.deepEqual(r, {
      ok: true,
      headers: [
        'Host',
        'b.s3.amazonaws.com',
        'X-Amz-Meta-A',
        'one',
        'x-amz-meta-a',
        'two',
        'Range',
        'bytes=0-1',
      ],
    });
  });

  test('a signed hop-by-hop header that can be sent is kept: untouched wins', () => {
    const r = requestHeadersForUpstream(['Host', 'h', 'TE', 'trailers'], v4(['host', 'te']), null);
    assert.deepEqual(r, { ok: true, headers: ['Host', 'h', 'TE', 'trailers'] });
  });

  test('a signed header that cannot be sent unchanged is refused, not altered', () => {
    for (const [name, value] of [
      ['Expect', '100-continue'],
      ['Upgrade', 'h2c'],
      ['Connection', 'close'],
    ] as const) {
      const r = requestHeadersForUpstream(['Host', 'h', name, value], v4(['host', name.toLowerCase()]), null);
      assert.equal(r.ok, false, name);
      if (!r.ok) assert.equal(r.error.status, 501);
    }
  });

  test('an expectation Kura forwards is sent as received, signed or not', () => {
    for (const signed of [['host'], ['host', 'expect']]) {
      const raw = ['Host', 'h', 'Expect', '100-continue', 'Content-Length', '5'];
      const r = requestHeadersForUpstream(raw, v4(signed), null, true);
      assert.deepEqual(r, { ok: true, headers: raw });
    }
  });

  test('signed Transfer-Encoding: chunked is reproduced by the framing itself', () => {
    const r = requestHeadersForUpstream(
      ['Host', 'h', 'Transfer-Encoding', 'chunked'],
      v4(['host', 'transfer-encoding']),
      null,
    );
    assert.deepEqual(r, { ok: true, headers: ['Host', 'h'] });
  });

  test('an unreadable signature is forwarded for S3 to judge: hop-by-hop headers dropped, nothing added', () => {
    const r = requestHeadersForUpstream(
      ['Host', 'h', 'Connection', 'keep-alive', 'Expect', '100-continue', 'X-Amz-Meta-A', '1'],
      { kind: 'unreadable', reason: 'x' },
      { name: 'referer', value: 'kura' },
    );
    assert.deepEqual(r, { ok: true, headers: ['Host', 'h', 'X-Amz-Meta-A', '1'] });
  });

  test('the identify header is added only when absent and unsigned', () => {
    const identify = { name: 'referer', value: 'kura' };
    assert.deepEqual(requestHeadersForUpstream(['Host', 'h'], v4(['host']), identify), {
      ok: true,
      headers: ['Host', 'h', 'referer', 'kura'],
    });
    assert.deepEqual(requestHeadersForUpstream(['Host', 'h'], v4(['host', 'referer']), identify), {
      ok: true,
      headers: ['Host', 'h'],
    });
    assert.deepEqual(
      requestHeadersForUpstream(['Host', 'h', 'Referer', 'app'], { kind: 'anonymous' }, identify),
      {
        ok: true,
        headers: ['Host', 'h', 'Referer', 'app'],
      },
    );
  });
});

test('responseHeadersForClient drops only what belongs to the S3 connection', () => {
  const raw = [
    'x-amz-request-id',
    'R',
    'Connection',
    'keep-alive',
    'Keep-Alive',
    'timeout=5',
    'ETag',
    '"e"',
    'Transfer-Encoding',
    'chunked',
    'x-amz-meta-b',
    '1',
    'x-amz-meta-b',
    '2',
  ];
  assert.deepEqual(responseHeadersForClient(raw), [
    'x-amz-request-id',
    'R',
    'ETag',
    '"e"',
    'x-amz-meta-b',
    '1',
    'x-amz-meta-b',
    '2',
  ]);
});

test('hasRequestBody follows RFC 9112 framing', () => {
  assert.equal(hasRequestBody(['Host', 'h']), false);
  assert.equal(hasRequestBody(['Content-Length', '0']), false);
  assert.equal(hasRequestBody(['Content-Length', '10']), true);
  assert.equal(hasRequestBody(['Transfer-Encoding', 'chunked']), true);
});

test('expectsContinue: HTTP/1.1, a body, and the 100-continue expectation', () => {
  const put = ['Host', 'h', 'Content-Length', '10'];
  assert.equal(expectsContinue([...put, 'Expect', '100-Continue'], '1.1'), true);
  assert.equal(expectsContinue([...put, 'Expect', '100-continue'], '1.0'), false);
  assert.equal(expectsContinue(put, '1.1'), false);
  assert.equal(expectsContinue(['Host', 'h', 'Expect', '100-continue'], '1.1'), false);
  assert.equal(expectsContinue(['Transfer-Encoding', 'chunked', 'Expect', '100-continue'], '1.1'), true);
});
