import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactTarget } from '../../../src/s3/redact.js';

const cases: [string, string][] = [
  ['/b/k', '/b/k'],
  ['/b/k?x-id=GetObject', '/b/k?x-id=GetObject'],
  [
    '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc123&X-Amz-Security-Token=FQoG%2Bxyz',
    '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED',
  ],
  [
    '/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=s%2Bg',
    '/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=REDACTED',
  ],
  ['/b/k?x-amz-signature=lower', '/b/k?x-amz-signature=REDACTED'],
  ['/b/k?X%2DAmz%2DSignature=encoded-name', '/b/k?X%2DAmz%2DSignature=REDACTED'],
  ['/b/k?Signature', '/b/k?Signature=REDACTED'],
  ['/b/k?%zz=1&Signature=x', '/b/k?%zz=1&Signature=REDACTED'],
  ['http://h/b/k?Signature=x', 'http://h/b/k?Signature=REDACTED'],
];
for (const [input, expected] of cases) {
  test(`redactTarget ${input.slice(0, 60)}`, () => assert.equal(redactTarget(input), expected));
}
