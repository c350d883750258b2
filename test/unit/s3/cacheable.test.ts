import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BYPASS_REASONS,
  type BypassReason,
  bypassReason,
  requestWantsRevalidation,
} from '../../../src/s3/cacheable.js';
import { readHeadersOf } from '../../../src/s3/read-headers.js';
import { parseS3Request } from '../../../src/s3/request.js';

const NOW = new Date('2024-01-01T12:00:00Z');
const AWS = 's3.us-east-1.amazonaws.com';
const SIG = 'ab'.repeat(32);

/** A SigV4 presigned query signed at 11:00 that expires `expires` seconds later. */
function presignV4(expires: number): string {
  return [
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    'X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request',
    'X-Amz-Date=20240101T110000Z',
    `X-Amz-Expires=${expires}`,
    'X-Amz-SignedHeaders=host',
    `X-Amz-Signature=${SIG}`,
  ].join('&');
}

function presignV2(expiresAt: Date): string {
  return `AWSAccessKeyId=AKIDEXAMPLE&Expires=${expiresAt.getTime() / 1000}&Signature=c2lnbmF0dXJl`;
}

interface Case {
  name: string;
  method?: string;
  target: string;
  host?: string;
  headers?: string[];
  expected: BypassReason | null;
}

const cases: Case[] = [
  // Cacheable.
  { name: 'plain GET', target: '/bucket/dir/key.parquet', expected: null },
  { name: 'virtual-style GET', target: '/key', host: `bucket.${AWS}`, expected: null },
  { name: 'HEAD', method: 'HEAD', target: '/bucket/key', expected: null },
  {
    name: 'HEAD with a Range',
    method: 'HEAD',
    target: '/bucket/key',
    headers: ['Range', 'bytes=0-9'],
    expected: null,
  },
  { name: 'range GET', target: '/bucket/key', headers: ['Range', 'bytes=0-99'], expected: null },
  { name: 'suffix range GET', target: '/bucket/key', headers: ['range', 'bytes=-100'], expected: null },
  { name: 'partNumber GET', target: '/bucket/key?partNumber=3', expected: null },
  { name: 'SDK v3 x-id', target: '/bucket/key?x-id=GetObject', expected: null },
  {
    name: 'presigned SigV4 GET with x-id',
    target: `/bucket/key?x-id=GetObject&${presignV4(3601)}`,
    expected: null,
  },
  {
    name: 'presigned SigV2 GET',
    target: `/bucket/key?${presignV2(new Date(NOW.getTime() + 1000))}`,
    expected: null,
  },
  { name: 'underscore bucket', target: '/my_bucket/key', expected: null },
  { name: 'dotted bucket', target: '/my.bucket.name/key', expected: null },
  {
    name: 'no-cache revalidates, it does not bypass',
    target: '/bucket/key',
    headers: ['Cache-Control', 'no-cache'],
    expected: null,
  },
  {
    name: 'access point',
    target: '/k',
    host: 'ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com',
    expected: null,
  },
  {
    name: 'MRAP',
    target: '/k',
    host: 'mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com',
    expected: null,
  },
  {
    name: 'Express',
    target: '/k',
    host: 'bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com',
    expected: null,
  },
  { name: 'custom origin', target: '/bucket/key', host: 'localhost:9000', expected: null },
  {
    name: 'unrelated SSE header',
    target: '/bucket/key',
    headers: ['x-amz-server-side-encryption', 'aws:kms'],
    expected: null,
  },
  // Not cacheable.
  { name: 'PutObject', method: 'PUT', target: '/bucket/key', expected: 'operation' },
  { name: 'DeleteObject', method: 'DELETE', target: '/bucket/key', expected: 'operation' },
  { name: 'ListObjects', target: '/bucket', expected: 'operation' },
  { name: 'ListObjectsV2 with a query', target: '/bucket?list-type=2', expected: 'operation' },
  { name: 'GetObjectAcl', target: '/bucket/key?acl', expected: 'operation' },
  { name: 'ListBuckets', target: '/', expected: 'operation' },
  { name: 'lower-case method', method: 'get', target: '/bucket/key', expected: 'operation' },
  { name: 'duplicated partNumber', target: '/bucket/key?partNumber=1&partNumber=2', expected: 'operation' },
  { name: 'versionId', target: '/bucket/key?versionId=3HL4kqtJlcpXroDTDmJ', expected: 'version-id' },
  { name: 'versionId on HEAD', method: 'HEAD', target: '/bucket/key?versionId=null', expected: 'version-id' },
  {
    name: 'SSE-C algorithm',
    target: '/bucket/key',
    headers: ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
    expected: 'sse-c',
  },
  {
    name: 'SSE-C key, mixed case',
    target: '/bucket/key',
    headers: ['X-Amz-Server-Side-Encryption-Customer-Key-MD5', 'aGk='],
    expected: 'sse-c',
  },
  { name: 'HEAD partNumber', method: 'HEAD', target: '/bucket/key?partNumber=1', expected: 'part-head' },
  {
    name: 'response-content-type',
    target: '/bucket/key?response-content-type=text%2Fplain',
    expected: 'query',
  },
  {
    name: 'response-cache-control beside x-id',
    target: '/bucket/key?x-id=GetObject&response-cache-control=no-cache',
    expected: 'query',
  },
  {
    name: 'presigned with response-content-disposition',
    target: `/bucket/key?response-content-disposition=attachment&${presignV4(3601)}`,
    expected: 'query',
  },
  {
    name: 'two ranges',
    target: '/bucket/key',
    headers: ['Range', 'bytes=0-1,5-9'],
    expected: 'range-multiple',
  },
  {
    name: 'backwards range',
    target: '/bucket/key',
    headers: ['Range', 'bytes=9-1'],
    expected: 'range-invalid',
  },
  { name: 'other unit', target: '/bucket/key', headers: ['Range', 'items=0-1'], expected: 'range-invalid' },
  {
    name: 'two Range fields',
    target: '/bucket/key',
    headers: ['Range', 'bytes=0-1', 'Range', 'bytes=0-1'],
    expected: 'range-invalid',
  },
  {
    name: 'partNumber with a Range',
    target: '/bucket/key?partNumber=2',
    headers: ['Range', 'bytes=0-9'],
    expected: 'range-with-part',
  },
  {
    name: 'Object Lambda',
    target: '/key',
    host: 'olap-111122223333.s3-object-lambda.us-east-1.amazonaws.com',
    expected: 'endpoint',
  },
  // Legacy us-east-1 names may hold upper case; the volume keeps them apart (src/s3/bucket-name.ts).
  { name: 'upper-case legacy bucket', target: '/MyBucket/key', expected: null },
  { name: 'two-character bucket', target: '/ab/key', expected: 'bucket-name' },
  { name: 'bucket ending in -', target: '/bucket-/key', expected: 'bucket-name' },
  { name: 'bucket ending in .', target: '/bucket./key', expected: 'bucket-name' },
  {
    name: 'presigned SigV4 asking for more than a week (unreadable)',
    target: `/bucket/key?${presignV4(604_801)}`,
    expected: 'signature-unreadable',
  },
  {
    name: 'Authorization in an unknown scheme (unreadable)',
    target: '/bucket/key',
    headers: ['Authorization', 'Bearer abc'],
    expected: 'signature-unreadable',
  },
  {
    name: 'presigned SigV4, expiring now',
    target: `/bucket/key?x-id=GetObject&${presignV4(3600)}`,
    expected: 'presign-expired',
  },
  {
    name: 'presigned SigV4, long expired',
    target: `/bucket/key?${presignV4(60)}`,
    expected: 'presign-expired',
  },
  { name: 'presigned SigV2, expired', target: `/bucket/key?${presignV2(NOW)}`, expected: 'presign-expired' },
  {
    name: 'Cache-Control no-store',
    target: '/bucket/key',
    headers: ['Cache-Control', 'no-store'],
    expected: 'no-store',
  },
  {
    name: 'Cache-Control list with No-Store',
    target: '/bucket/key',
    headers: ['cache-control', 'max-age=0, No-Store'],
    expected: 'no-store',
  },
  {
    name: 'expected bucket owner',
    target: '/bucket/key',
    headers: ['x-amz-expected-bucket-owner', '111122223333'],
    expected: 'expected-owner',
  },
  {
    name: 'requester pays',
    target: '/bucket/key',
    headers: ['x-amz-request-payer', 'requester'],
    expected: 'request-payer',
  },
];

describe('bypassReason', () => {
  for (const c of cases) {
    it(c.name, () => {
      const headers = ['Host', c.host ?? AWS, ...(c.headers ?? [])];
      const parsed = parseS3Request({ method: c.method ?? 'GET', target: c.target, headers });
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.equal(bypassReason(parsed.request, readHeadersOf(headers), NOW.getTime()), c.expected);
    });
  }

  it('has a case for every reason it can give', () => {
    const covered = new Set(cases.map((c) => c.expected));
    assert.deepEqual(
      BYPASS_REASONS.filter((reason) => !covered.has(reason)),
      [],
    );
    assert.equal(new Set(BYPASS_REASONS).size, BYPASS_REASONS.length);
  });
});

describe('requestWantsRevalidation', () => {
  const revalidation: [string[], boolean][] = [
    [[], false],
    [['Cache-Control', 'no-cache'], true],
    [['cache-control', 'No-Cache'], true],
    [['Cache-Control', 'max-age=0'], true],
    [['Cache-Control', 'max-age="0"'], true],
    [['Cache-Control', 'max-stale, max-age=0'], true],
    [['Cache-Control', 'max-age=60'], false],
    [['Cache-Control', 'max-age=10'], false],
    [['Cache-Control', 'no-store'], false],
    [['Cache-Control', 'only-if-cached'], false],
    [['Cache-Control', 'max-age=60', 'Cache-Control', 'no-cache'], true],
    [['Pragma', 'no-cache'], true],
    [['pragma', 'x-debug, No-Cache'], true],
    [['Pragma', 'x-debug'], false],
    // RFC 9111 §5.4: Pragma is ignored when Cache-Control is present.
    [['Pragma', 'no-cache', 'Cache-Control', 'max-age=60'], false],
  ];
  for (const [headers, expected] of revalidation) {
    it(JSON.stringify(headers), () =>
      assert.equal(requestWantsRevalidation(readHeadersOf(headers)), expected),
    );
  }
});
