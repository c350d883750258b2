import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  confirmedChecksums,
  storedAnswerHeaders,
  storedRequestHeaders,
} from '../../../src/s3/stored-headers.js';

describe('stored headers of an upload', () => {
  it('keeps the representation headers S3 stores, as a GET answers them', () => {
    const raw = [
      'Host',
      'b.s3.amazonaws.com',
      'Content-Type',
      'text/csv',
      'Content-Encoding',
      'aws-chunked,gzip',
      'Content-Disposition',
      'attachment',
      'Cache-Control',
      'max-age=60',
      'X-Amz-Meta-Owner',
      'team-a',
      'x-amz-storage-class',
      'STANDARD_IA',
      'x-amz-tagging',
      'a=1&b=2',
      'Authorization',
      'AWS4-HMAC-SHA256 …',
      'x-amz-content-sha256',
      'UNSIGNED-PAYLOAD',
      'Content-Length',
      '10',
    ];
    assert.deepEqual(storedRequestHeaders(raw), [
      ['content-type', 'text/csv'],
      ['content-encoding', 'gzip'],
      ['content-disposition', 'attachment'],
      ['cache-control', 'max-age=60'],
      ['x-amz-meta-owner', 'team-a'],
      ['x-amz-storage-class', 'STANDARD_IA'],
      ['x-amz-tagging-count', '2'],
    ]);
  });

  it('defaults Content-Type as S3 does and leaves STANDARD storage and aws-chunked out', () => {
    const raw = ['Content-Encoding', 'aws-chunked', 'x-amz-storage-class', 'STANDARD'];
    assert.deepEqual(storedRequestHeaders(raw), [['content-type', 'binary/octet-stream']]);
  });

  it("takes the version's facts from S3's answer to the write", () => {
    const answer = [
      'ETag',
      '"abc"',
      'x-amz-version-id',
      'v1',
      'x-amz-server-side-encryption',
      'aws:kms',
      'x-amz-checksum-crc32',
      'AAAAAA==',
      'x-amz-checksum-type',
      'FULL_OBJECT',
      'x-amz-request-id',
      'R',
      'Date',
      'Sun, 22 Nov 2026 00:00:00 GMT',
    ];
    assert.deepEqual(storedAnswerHeaders(answer), [
      ['x-amz-version-id', 'v1'],
      ['x-amz-server-side-encryption', 'aws:kms'],
    ]);
    assert.deepEqual(confirmedChecksums(answer), [
      ['x-amz-checksum-crc32', 'AAAAAA=='],
      ['x-amz-checksum-type', 'FULL_OBJECT'],
    ]);
  });
});
