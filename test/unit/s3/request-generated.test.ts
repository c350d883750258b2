// Whatever a client sends, the parse and the read path's checks of it answer: a request they cannot place
// is refused with an S3 error, one they can is classified, and none of them throws (a throw fails the
// request with a 500 and cuts its connection, where S3 would have answered). Requests generated from the
// pieces clients and attackers use, names of an object's inherited members among them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bypassReason, requestWantsRevalidation } from '../../../src/s3/cacheable.js';
import { readConditionals } from '../../../src/s3/conditionals.js';
import { readHeadersOf } from '../../../src/s3/read-headers.js';
import { parseS3Request } from '../../../src/s3/request.js';
import { isSignatureCurrent } from '../../../src/s3/signature-time.js';

const CREDENTIAL = 'AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request';
const FIELDS = `Credential=${CREDENTIAL}, SignedHeaders=host;x-amz-date, Signature=abcd`;
const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];

const TARGET_PIECES = [
  ...['/', '?', '&', '=', '%', '%2F', '%ZZ', '%E2%82', '..', '.', '*', ' ', 'é', '#', ';', ':', '@'],
  ...['b', 'key', 'kura-test', 'x-id', 'GetObject', 'versionId', 'partNumber', '1', '0', '-1'],
  ...['uploads', 'uploadId', 'acl', 'tagging', 'list-type', 'delete', 'select', 'response-content-type'],
  ...['X-Amz-Algorithm', 'AWS4-HMAC-SHA256', 'X-Amz-Credential', encodeURIComponent(CREDENTIAL)],
  ...['X-Amz-Date', '20240101T000000Z', 'X-Amz-Expires', '3600', '99999999999', 'X-Amz-SignedHeaders'],
  ...['host', 'X-Amz-Signature', 'abcd', 'AWSAccessKeyId', 'Expires', 'Signature', 'http://', 'https://h:1'],
  ...INHERITED,
];
const HEADER_NAMES = [
  ...['Host', 'host', 'HOST', 'Authorization', 'authorization', 'x-amz-date', 'Date', 'x-amz-content-sha256'],
  ...['range', 'Range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range'],
  ...['cache-control', 'pragma', 'x-amz-copy-source', 'x-amz-checksum-mode', 'x-amz-region-set'],
  ...['content-length', 'transfer-encoding', 'x-amz-server-side-encryption-customer-key'],
  ...['x-amz-request-payer', 'x-amz-expected-bucket-owner'],
  ...INHERITED,
];
const HEADER_VALUES = [
  ...['', ' ', 's3.amazonaws.com', 'b.s3.amazonaws.com', '127.0.0.1:8080', 'h:99999', '[::1]:80'],
  `AWS4-HMAC-SHA256 ${FIELDS}`,
  `AWS4-ECDSA-P256-SHA256 Credential=AKIA/20240101/s3/aws4_request, SignedHeaders=host, Signature=ab`,
  ...INHERITED.map((name) => `${name} ${FIELDS}`),
  ...['AWS AKIA:sig', 'bytes=0-1', 'bytes=-5', 'bytes=5-', 'bytes=1-0', 'bytes=0-1,2-3', 'bytes='],
  ...['bytes=99999999999999999999-', '"a"', 'W/"a"', '*', 'Mon, 01 Jan 2024 00:00:00 GMT', 'garbage'],
  ...['no-cache', 'max-age=0', 'no-store, max-age="0"', '20240101T000000Z', 'UNSIGNED-PAYLOAD', 'ENABLED'],
  ...['us-east-1,us-west-2', '1', 'chunked'],
];
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'get', 'OPTIONS'];

describe('generated requests', () => {
  it('20,000 of them: each is refused with an S3 error or parsed, and no check of it throws', () => {
    let x = 3;
    const pick = <T>(list: readonly T[]): T => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return list[Math.floor(x / 65_536) % list.length] as T;
    };
    const count = (n: number) => pick(Array.from({ length: n }, (_, i) => i));
    let parsed = 0;
    for (let i = 0; i < 20_000; i++) {
      let target = count(10) === 0 ? pick(TARGET_PIECES) : '/';
      for (let pieces = count(8); pieces > 0; pieces--) target += pick(TARGET_PIECES);
      const headers: string[] = count(8) === 0 ? [] : ['Host', pick(HEADER_VALUES.slice(2, 5))];
      for (let n = count(6); n > 0; n--) headers.push(pick(HEADER_NAMES), pick(HEADER_VALUES));
      const method = pick(METHODS);
      const request = JSON.stringify({ method, target, headers });
      let result: ReturnType<typeof parseS3Request>;
      try {
        result = parseS3Request({ method, target, headers });
        if (!result.ok) {
          assert.ok(result.error.status >= 400 && result.error.code.length > 0, request);
          continue;
        }
        parsed += 1;
        const fields = readHeadersOf(headers);
        bypassReason(result.request, fields, Date.now());
        readConditionals(fields);
        requestWantsRevalidation(fields);
        const { signature } = result.request;
        if (signature.kind !== 'anonymous' && signature.kind !== 'unreadable') {
          isSignatureCurrent(signature, headers, Date.now());
        }
      } catch (err) {
        assert.fail(`${request} threw ${(err as Error).stack}`);
      }
    }
    assert.ok(parsed > 5_000, `only ${parsed} of the generated requests were parsed: the generator drifted`);
  });
});
