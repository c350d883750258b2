import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyOperation, isPresignParam } from '../../../src/s3/operation.js';
import { parseQuery } from '../../../src/s3/query.js';
import type { Operation, OperationName } from '../../../src/s3/types.js';

interface Case {
  method: string;
  /** `bucket/key`, `bucket` (no key), or `` (service). */
  target: string;
  query?: string;
  headers?: string[];
  name: OperationName;
  partNumber?: number | null;
  uploadId?: string | null;
  versionId?: string | null;
}

const COPY = ['X-Amz-Copy-Source', '/src/key'];
const PRESIGN_V4 =
  'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab' +
  '&X-Amz-Security-Token=tok';
const PRESIGN_V2 = 'AWSAccessKeyId=AKID&Expires=1700000000&Signature=abc%3D';

const cases: Case[] = [
  // GetObject / HeadObject.
  { method: 'GET', target: 'b/k', name: 'GetObject' },
  { method: 'GET', target: 'b/../../etc/passwd', name: 'GetObject' },
  { method: 'GET', target: 'b/k', query: 'x-id=GetObject', name: 'GetObject' },
  { method: 'GET', target: 'b/k', query: 'partNumber=1', name: 'GetObject', partNumber: 1 },
  { method: 'GET', target: 'b/k', query: 'partNumber=10000', name: 'GetObject', partNumber: 10000 },
  { method: 'GET', target: 'b/k', query: 'versionId=v1', name: 'GetObject', versionId: 'v1' },
  { method: 'GET', target: 'b/k', query: 'versionId', name: 'GetObject', versionId: '' },
  {
    method: 'GET',
    target: 'b/k',
    query:
      'response-cache-control=no&response-content-disposition=a&response-content-encoding=b' +
      '&response-content-language=c&response-content-type=d&response-expires=e',
    name: 'GetObject',
  },
  { method: 'GET', target: 'b/k', query: PRESIGN_V4, name: 'GetObject' },
  { method: 'GET', target: 'b/k', query: PRESIGN_V2, name: 'GetObject' },
  { method: 'GET', target: 'b/k', query: 'x-amz-signature=a&X-AMZ-DATE=b', name: 'GetObject' },
  { method: 'GET', target: 'b/k', query: 'X-Amz-Request-Payer=requester', name: 'GetObject' },
  { method: 'HEAD', target: 'b/k', name: 'HeadObject' },
  { method: 'HEAD', target: 'b/k', query: 'partNumber=2', name: 'HeadObject', partNumber: 2 },
  { method: 'HEAD', target: 'b/k', query: `${PRESIGN_V4}&versionId=v`, name: 'HeadObject', versionId: 'v' },
  // Part numbers S3 must judge.
  { method: 'GET', target: 'b/k', query: 'partNumber=0', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=10001', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=01', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=-1', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=1.0', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=1e3', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=%201', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=99999999999999999999999', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'partNumber=1&partNumber=2', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'versionId=a&versionId=b', name: 'Other' },
  // Sub-resources and unknown parameters are S3's.
  { method: 'GET', target: 'b/k', query: 'acl', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'tagging', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'attributes', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'torrent', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'uploadId=u', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'PartNumber=1', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'foo=bar', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'expires=1', name: 'Other' },
  { method: 'POST', target: 'b/k', query: 'restore', name: 'Other' },
  { method: 'POST', target: 'b/k', query: 'select&select-type=2', name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'tagging', name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'acl', headers: COPY, name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'versionId=v', name: 'Other' },
  // Methods are case-sensitive; other methods are S3's.
  { method: 'get', target: 'b/k', name: 'Other' },
  { method: 'Head', target: 'b/k', name: 'Other' },
  { method: 'OPTIONS', target: 'b/k', name: 'Other' },
  { method: 'PATCH', target: 'b/k', name: 'Other' },
  // Service and bucket level.
  { method: 'GET', target: '', name: 'Other' },
  { method: 'GET', target: 'b', name: 'ListObjects' },
  { method: 'GET', target: 'b', query: 'prefix=a&delimiter=%2F&marker=m&max-keys=5', name: 'ListObjects' },
  { method: 'GET', target: 'b', query: 'list-type=2&prefix=a', name: 'ListObjectsV2' },
  {
    method: 'GET',
    target: 'b',
    query: `list-type=2&continuation-token=t&start-after=s&${PRESIGN_V4}`,
    name: 'ListObjectsV2',
  },
  // Another list-type, or a parameter of the other version, is S3's to read.
  { method: 'GET', target: 'b', query: 'list-type=1', name: 'Other' },
  { method: 'GET', target: 'b', query: 'list-type=2&marker=m', name: 'Other' },
  { method: 'GET', target: 'b', query: 'continuation-token=t', name: 'Other' },
  { method: 'GET', target: 'b', query: 'versions', name: 'Other' },
  { method: 'GET', target: 'b/k', query: 'list-type=2', name: 'Other' },
  { method: 'HEAD', target: 'b', name: 'Other' },
  { method: 'PUT', target: 'b', name: 'Other' },
  { method: 'DELETE', target: 'b', name: 'Other' },
  { method: 'GET', target: 'b', query: 'uploads', name: 'Other' },
  // Writes.
  { method: 'PUT', target: 'b/k', name: 'PutObject' },
  { method: 'PUT', target: 'b/k', query: 'x-id=PutObject', name: 'PutObject' },
  { method: 'PUT', target: 'b/k', query: PRESIGN_V4, name: 'PutObject' },
  { method: 'PUT', target: 'b/k', headers: COPY, name: 'CopyObject' },
  { method: 'PUT', target: 'b/k', headers: ['x-amz-copy-source', ''], name: 'CopyObject' },
  { method: 'PUT', target: 'b/k', query: 'x-id=CopyObject', headers: COPY, name: 'CopyObject' },
  { method: 'PUT', target: 'b/k', query: 'partNumber=1', headers: COPY, name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'uploadId=u', headers: COPY, name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'partNumber=1', name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'uploadId=u', name: 'Other' },
  {
    method: 'PUT',
    target: 'b/k',
    query: 'partNumber=3&uploadId=u%2B1',
    name: 'UploadPart',
    partNumber: 3,
    uploadId: 'u+1',
  },
  { method: 'PUT', target: 'b/k', query: 'partNumber=0&uploadId=u', name: 'Other' },
  { method: 'PUT', target: 'b/k', query: 'partNumber=1&uploadId=u&uploadId=v', name: 'Other' },
  {
    method: 'PUT',
    target: 'b/k',
    query: 'partNumber=5&uploadId=u',
    headers: COPY,
    name: 'UploadPartCopy',
    partNumber: 5,
    uploadId: 'u',
  },
  { method: 'POST', target: 'b/k', query: 'uploads', name: 'CreateMultipartUpload' },
  {
    method: 'POST',
    target: 'b/k',
    query: 'uploads=&x-id=CreateMultipartUpload',
    name: 'CreateMultipartUpload',
  },
  { method: 'POST', target: 'b/k', query: 'uploadId=u', name: 'CompleteMultipartUpload', uploadId: 'u' },
  { method: 'POST', target: 'b/k', query: 'uploads&uploadId=u', name: 'Other' },
  { method: 'POST', target: 'b/k', name: 'Other' },
  { method: 'DELETE', target: 'b/k', query: 'uploadId=u', name: 'AbortMultipartUpload', uploadId: 'u' },
  { method: 'DELETE', target: 'b/k', name: 'DeleteObject' },
  {
    method: 'DELETE',
    target: 'b/k',
    query: 'versionId=v&x-id=DeleteObject',
    name: 'DeleteObject',
    versionId: 'v',
  },
  { method: 'DELETE', target: 'b/k', query: PRESIGN_V2, name: 'DeleteObject' },
  { method: 'DELETE', target: 'b/k', query: 'tagging', name: 'Other' },
  { method: 'DELETE', target: 'b/k', query: 'partNumber=1', name: 'Other' },
  { method: 'POST', target: 'b', query: 'delete', name: 'DeleteObjects' },
  { method: 'POST', target: 'b', query: 'delete=&x-id=DeleteObjects', name: 'DeleteObjects' },
  { method: 'POST', target: 'b/k', query: 'delete', name: 'Other' },
  { method: 'POST', target: '', query: 'delete', name: 'Other' },
  { method: 'POST', target: 'b', query: 'delete&versionId=v', name: 'Other' },
  // Permission changes.
  { method: 'PUT', target: 'b/k', query: 'acl', name: 'PutObjectAcl' },
  { method: 'PUT', target: 'b/k', query: 'acl&versionId=v', name: 'PutObjectAcl', versionId: 'v' },
  { method: 'PUT', target: 'b/k', query: `acl=&x-id=PutObjectAcl&${PRESIGN_V4}`, name: 'PutObjectAcl' },
  { method: 'PUT', target: 'b/k', query: 'acl&tagging', name: 'Other' },
  { method: 'PUT', target: 'b', query: 'acl', name: 'PutBucketAcl' },
  { method: 'PUT', target: 'b', query: 'policy', name: 'PutBucketPolicy' },
  { method: 'DELETE', target: 'b', query: 'policy', name: 'DeleteBucketPolicy' },
  { method: 'PUT', target: 'b', query: 'publicAccessBlock', name: 'PutPublicAccessBlock' },
  { method: 'DELETE', target: 'b', query: 'publicAccessBlock', name: 'DeletePublicAccessBlock' },
  { method: 'GET', target: 'b', query: 'policy', name: 'Other' },
  { method: 'PUT', target: 'b', query: 'PublicAccessBlock', name: 'Other' },
  { method: 'PUT', target: '', query: 'acl', name: 'Other' },
];

function locate(target: string): { bucket: string | null; key: string | null } {
  if (target === '') return { bucket: null, key: null };
  const slash = target.indexOf('/');
  return slash === -1
    ? { bucket: target, key: null }
    : { bucket: target.slice(0, slash), key: target.slice(slash + 1) };
}

describe('classifyOperation', () => {
  for (const c of cases) {
    const label = `${c.method} /${c.target}${c.query === undefined ? '' : `?${c.query.slice(0, 60)}`}`;
    it(`${label}${c.headers ? ' +copy-source' : ''} → ${c.name}`, () => {
      const query = parseQuery(c.query ?? null);
      assert.ok(query);
      const op = classifyOperation({
        method: c.method,
        ...locate(c.target),
        query,
        headers: c.headers ?? [],
      });
      const expected: Operation =
        c.name === 'Other'
          ? { name: 'Other', partNumber: null, uploadId: null, versionId: null }
          : {
              name: c.name,
              partNumber: c.partNumber ?? null,
              uploadId: c.uploadId ?? null,
              versionId: c.versionId ?? null,
            };
      assert.deepEqual(op, expected);
    });
  }
});

describe('isPresignParam', () => {
  const cases: [string, boolean][] = [
    ['X-Amz-Signature', true],
    ['x-amz-date', true],
    ['X-AMZ-EXPIRES', true],
    ['X-Amz-Security-Token', true],
    ['AWSAccessKeyId', true],
    ['Expires', true],
    ['Signature', true],
    ['expires', false],
    ['signature', false],
    ['X-Amz', false],
    ['partNumber', false],
    ['acl', false],
  ];
  for (const [name, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(isPresignParam(name), expected);
    });
  }
});
