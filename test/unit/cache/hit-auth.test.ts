import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HitAuthChange, HitAuthMemo } from '../../../src/cache/hit-auth.js';
import { parseS3Request } from '../../../src/s3/request.js';
import type { S3Request } from '../../../src/s3/types.js';

const NOW = Date.now();
const key = (k: string) => ({ namespace: 'aws', bucket: 'data', key: k });

function request(method: string, path: string, headers: string[]): S3Request {
  const parsed = parseS3Request({
    method,
    target: path,
    headers: ['Host', 's3.us-east-1.amazonaws.com', ...headers],
  });
  assert.ok(parsed.ok);
  return parsed.request;
}

const amzDate = new Date(NOW).toISOString().replace(/[-:]|\.\d{3}/g, '');
const signed = (accessKey: string) =>
  request('GET', '/data/a.bin', [
    'x-amz-date',
    amzDate,
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=${accessKey}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
  ]);
const raw = (_: S3Request) => ['x-amz-date', amzDate];

describe('HitAuthMemo', () => {
  test('a key S3 let read the bucket reads hits of any object in it for the TTL, not after', () => {
    const memo = new HitAuthMemo();
    const ak = signed('AKIAGOOD');
    assert.equal(memo.mayServe('signed', ak, raw(ak), key('a.bin'), NOW, 60_000), false);
    memo.heard(ak, key('a.bin'), 200, NOW);
    assert.equal(memo.mayServe('signed', ak, raw(ak), key('other.bin'), NOW + 1_000, 60_000), true);
    assert.equal(memo.mayServe('signed', ak, raw(ak), key('a.bin'), NOW + 60_000, 60_000), false);
    assert.equal(
      memo.mayServe('signed', ak, raw(ak), { ...key('a.bin'), bucket: 'else' }, NOW, 60_000),
      false,
    );
    const other = signed('AKIAOTHER');
    assert.equal(memo.mayServe('signed', other, raw(other), key('a.bin'), NOW, 60_000), false);
  });

  test('a 403 forgets the key; a write answer teaches nothing', () => {
    const memo = new HitAuthMemo();
    const ak = signed('AKIAGOOD');
    memo.heard(ak, key('a.bin'), 304, NOW);
    memo.heard(ak, key('a.bin'), 403, NOW);
    assert.equal(memo.mayServe('signed', ak, raw(ak), key('a.bin'), NOW, 60_000), false);
    const put = { ...ak, method: 'PUT', operation: { ...ak.operation, name: 'PutObject' } } as S3Request;
    memo.heard(put, key('a.bin'), 200, NOW);
    assert.equal(memo.mayServe('signed', ak, raw(ak), key('a.bin'), NOW, 60_000), false);
  });

  test('changes are told once, and applied by another memo as they were learnt', () => {
    const told: HitAuthChange[] = [];
    const a = new HitAuthMemo();
    const b = new HitAuthMemo();
    a.onChange = (c) => told.push(c);
    const ak = signed('AKIAGOOD');
    a.heard(ak, key('a.bin'), 200, NOW);
    for (const c of told) b.apply(c);
    assert.equal(b.mayServe('signed', ak, raw(ak), key('a.bin'), NOW, 60_000), true);
    a.forgetBucket('aws', 'data');
    for (const c of told.slice(1)) b.apply(c);
    assert.equal(b.mayServe('signed', ak, raw(ak), key('a.bin'), NOW, 60_000), false);
    assert.deepEqual(
      told.map((c) => c.kind),
      ['allowed', 'bucket'],
    );
  });

  test('levels any and s3 need no memo', () => {
    const memo = new HitAuthMemo();
    const anon = request('GET', '/data/a.bin', []);
    assert.equal(memo.mayServe('any', anon, [], key('a.bin'), NOW, 60_000), true);
    memo.heard(anon, key('a.bin'), 200, NOW);
    assert.equal(memo.mayServe('signed', anon, [], key('a.bin'), NOW, 60_000), true);
    assert.equal(
      memo.mayServe('signed', anon, [], key('b.bin'), NOW, 60_000),
      false,
      'anonymous: per object',
    );
    assert.equal(memo.mayServe('s3', anon, [], key('a.bin'), NOW, 60_000), false);
  });
});
