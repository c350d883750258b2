import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  forbidsStoring,
  isConfirmationWorthWriting,
  isExpired,
  isFresh,
  isWithinStaleIfError,
  lastConfirmed,
  mayServeStale,
  ttlOf,
} from '../../../src/cache/freshness.js';
import { HitAuthMemo } from '../../../src/cache/hit-auth.js';
import type { EffectiveRule } from '../../../src/config/rules.js';
import { isStorableBucket } from '../../../src/s3/bucket-name.js';
import { bypassReason } from '../../../src/s3/cacheable.js';
import { readHeadersOf } from '../../../src/s3/read-headers.js';
import { parseS3Request } from '../../../src/s3/request.js';
import type { ObjectRecord } from '../../../src/store/types.js';

const T0 = 1_700_000_000_000;
const S = 1000;

const rule: EffectiveRule = {
  match: null,
  getTtl: 60 * S,
  headTtl: 10 * S,
  read: true,
  compress: false,
  ram: true,
  writeCache: true,
  staleIfError: 30 * S,
  hitAuth: 'any',
  listTtl: 0,
};

function record(r: Partial<ObjectRecord>): ObjectRecord {
  return {
    format: 1,
    namespace: 'aws',
    bucket: 'data',
    key: 'k',
    etag: '"e"',
    size: 1,
    lastModified: 'Tue, 14 Nov 2023 22:13:20 GMT',
    headers: [],
    checksums: null,
    partsCount: null,
    parts: {},
    source: 'get',
    codec: 'raw',
    validatedGet: null,
    validatedHead: null,
    createdAt: T0,
    ...r,
  };
}

const byGet = record({ validatedGet: T0, source: 'get' });
const byHead = record({ validatedHead: T0, source: 'head' });
const bothLaterHead = record({ validatedGet: T0, validatedHead: T0 + 20 * S });
/** Written through Kura: S3 accepted the upload, no read has confirmed it. */
const upload = record({ source: 'put', lastModified: null });

describe('TTL and last confirmation', () => {
  test('the TTL is the method’s own under the rule', () => {
    assert.equal(ttlOf({ method: 'GET', rule }), 60 * S);
    assert.equal(ttlOf({ method: 'HEAD', rule }), 10 * S);
  });

  test('last confirmed is the later of the GET and HEAD confirmations, and an upload has none', () => {
    assert.equal(lastConfirmed(byGet), T0);
    assert.equal(lastConfirmed(byHead), T0);
    assert.equal(lastConfirmed(bothLaterHead), T0 + 20 * S);
    assert.equal(lastConfirmed(record({ validatedGet: T0 + 5, validatedHead: T0 })), T0 + 5);
    assert.equal(lastConfirmed(upload), null);
  });
});

describe('freshness, stale-if-error and expiry by age', () => {
  const cases: {
    name: string;
    rec: ObjectRecord;
    method: 'GET' | 'HEAD';
    age: number;
    fresh: boolean;
    stale: boolean;
    expired: boolean;
  }[] = [
    {
      name: 'GET just confirmed',
      rec: byGet,
      method: 'GET',
      age: 0,
      fresh: true,
      stale: true,
      expired: false,
    },
    {
      name: 'GET within TTL',
      rec: byGet,
      method: 'GET',
      age: 59 * S,
      fresh: true,
      stale: true,
      expired: false,
    },
    { name: 'GET at TTL', rec: byGet, method: 'GET', age: 60 * S, fresh: false, stale: true, expired: false },
    {
      name: 'GET at the end of stale-if-error',
      rec: byGet,
      method: 'GET',
      age: 90 * S,
      fresh: false,
      stale: false,
      expired: false,
    },
    {
      name: 'GET past both',
      rec: byGet,
      method: 'GET',
      age: 91 * S,
      fresh: false,
      stale: false,
      expired: true,
    },
    {
      name: 'HEAD after its shorter TTL',
      rec: byGet,
      method: 'HEAD',
      age: 10 * S,
      fresh: false,
      stale: true,
      expired: false,
    },
    {
      name: 'HEAD past its TTL plus stale-if-error, GET still fresh',
      rec: byGet,
      method: 'HEAD',
      age: 40 * S,
      fresh: false,
      stale: false,
      expired: false,
    },
    {
      name: 'a record confirmed by HEAD is fresh for a GET too',
      rec: byHead,
      method: 'GET',
      age: 30 * S,
      fresh: true,
      stale: true,
      expired: false,
    },
    {
      name: 'the later confirmation counts',
      rec: bothLaterHead,
      method: 'GET',
      age: 70 * S,
      fresh: true,
      stale: true,
      expired: false,
    },
    // An upload's record is never fresh nor servable stale (its first read asks S3, which completes it),
    // yet it is not expired either: it counts from its upload for expiry.
    {
      name: 'an upload, at once',
      rec: upload,
      method: 'GET',
      age: 0,
      fresh: false,
      stale: false,
      expired: false,
    },
    {
      name: 'an upload, within TTL and stale-if-error',
      rec: upload,
      method: 'HEAD',
      age: 90 * S,
      fresh: false,
      stale: false,
      expired: false,
    },
    {
      name: 'an upload, past TTL and stale-if-error',
      rec: upload,
      method: 'GET',
      age: 91 * S,
      fresh: false,
      stale: false,
      expired: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const job = { method: c.method, rule, now: T0 + c.age };
      assert.equal(isFresh(c.rec, job), c.fresh, 'fresh');
      assert.equal(isWithinStaleIfError(c.rec, job), c.stale, 'servable stale');
      assert.equal(isExpired(c.rec, rule, job.now), c.expired, 'expired');
    });
  }

  test('TTL 0 is never fresh, and a confirmation then is not worth writing', () => {
    const zero = { ...rule, getTtl: 0 };
    const job = { method: 'GET' as const, rule: zero, now: T0 };
    assert.equal(isFresh(byGet, job), false);
    assert.equal(isConfirmationWorthWriting(byGet, job), false);
    assert.equal(isConfirmationWorthWriting(byGet, { ...job, rule, now: T0 + 61 * S }), true);
    assert.equal(isConfirmationWorthWriting(byGet, { ...job, rule, now: T0 + S }), false);
  });

  test('no stale-if-error allowance: never servable stale', () => {
    const job = { method: 'GET' as const, rule: { ...rule, staleIfError: 0 }, now: T0 + 61 * S };
    assert.equal(isWithinStaleIfError(byGet, job), false);
  });

  test('serving stale needs a reader hit_auth admits', () => {
    const parsed = parseS3Request({
      method: 'GET',
      target: '/data/k',
      headers: ['Host', 's3.us-east-1.amazonaws.com'],
    });
    assert.ok(parsed.ok);
    const reader = (hitAuth: EffectiveRule['hitAuth']) => ({
      method: 'GET' as const,
      rule: { ...rule, hitAuth },
      now: T0 + 70 * S,
      key: { namespace: 'aws', bucket: 'data', key: 'k' },
      ex: { s3: parsed.request, req: { rawHeaders: ['Host', 's3.us-east-1.amazonaws.com'] } },
      cache: { hitAuth: new HitAuthMemo() },
    });
    assert.equal(mayServeStale(byGet, reader('any')), true);
    assert.equal(mayServeStale(byGet, reader('s3')), false);
  });
});

describe('response storability', () => {
  const cases: [string, string[], boolean][] = [
    ['no Cache-Control', [], false],
    ['max-age', ['Cache-Control', 'max-age=60'], false],
    ['no-store', ['Cache-Control', 'no-store'], true],
    ['private, upper case, among others', ['Cache-Control', 'max-age=10, PRIVATE'], true],
    ['private with a field list', ['cache-control', 'private="set-cookie"'], true],
    ['on a second field line', ['Cache-Control', 'max-age=10', 'Cache-Control', 'no-store'], true],
    ['a name that only starts like one', ['Cache-Control', 'no-store-please, privateer'], false],
    ['no-cache may be stored (it is revalidated)', ['Cache-Control', 'no-cache'], false],
  ];
  for (const [name, headers, forbidden] of cases) {
    test(name, () => assert.equal(forbidsStoring(['ETag', '"e"', ...headers]), forbidden));
  }
});

describe('bucket storability, one definition for reads, writes and the volume', () => {
  const cases: [string, boolean][] = [
    ['my-bucket', true],
    ['my.bucket.name', true],
    ['my_bucket', true],
    // Legacy us-east-1 names may hold upper case: cached on GET as on PUT.
    ['MyLegacy_Bucket', true],
    ['my-bucket--usw2-az1--x-s3', true],
    ['mfzwi23gnjvgw.mrap', true],
    ['ab', false],
    ['-bucket', false],
    ['bucket-', false],
    ['bucket.', false],
    ['_bucket', false],
    ['..', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ];
  for (const [name, storable] of cases) {
    test(`${name.length > 40 ? `${name.length} characters` : name}: ${storable}`, () => {
      assert.equal(isStorableBucket(name), storable);
      const parsed = parseS3Request({
        method: 'GET',
        target: `/${name}/key`,
        headers: ['Host', 's3.us-east-1.amazonaws.com'],
      });
      if (!parsed.ok) return; // a name the request parser refuses never reaches the cache
      // A GET of it is cached exactly when the name is storable (a PUT is admitted by the same test).
      const reason = bypassReason(parsed.request, readHeadersOf(['Host', 's3.us-east-1.amazonaws.com']), T0);
      assert.equal(reason === null, storable, String(reason));
    });
  }
});
