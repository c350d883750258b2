import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerValues } from '../../../src/s3/headers.js';
import { type ReadHeaders, readHeadersOf, SSE_C_PREFIX } from '../../../src/s3/read-headers.js';

/** Each list field and the name it reads. */
const LISTS: [keyof ReadHeaders, string][] = [
  ['range', 'range'],
  ['ifMatch', 'if-match'],
  ['ifNoneMatch', 'if-none-match'],
  ['ifModifiedSince', 'if-modified-since'],
  ['ifUnmodifiedSince', 'if-unmodified-since'],
  ['ifRange', 'if-range'],
  ['cacheControl', 'cache-control'],
  ['pragma', 'pragma'],
  ['checksumMode', 'x-amz-checksum-mode'],
];

/** Names a client may send, in the cases clients send them, and names of the same lengths. */
const NAMES = [
  ...LISTS.flatMap(([, name]) => [
    name,
    name.toUpperCase(),
    name.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()),
  ]),
  'Host',
  'x-amz-date',
  'x-amz-content-sha256',
  'Authorization',
  'User-Agent',
  'ranges',
  'rangx',
  'If-Matches',
  'if-mod-since',
  'x-amz-expected-bucket-owner',
  'X-Amz-Expected-Bucket-Owner',
  'x-amz-expected-bucket-ownez',
  'x-amz-request-payer',
  'X-AMZ-REQUEST-PAYER',
  'x-amz-request-payex',
  `${SSE_C_PREFIX}algorithm`,
  `${SSE_C_PREFIX.toUpperCase()}KEY`,
  SSE_C_PREFIX.slice(0, -1),
  'x-amz-server-side-encryption',
];

/** A deterministic pseudo-random sequence (a test that fails can be run again as it was). */
function* sequence(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    yield x;
  }
}

describe('readHeadersOf', () => {
  it('finds each field in any case, every value in order, and nothing else', () => {
    const h = readHeadersOf([
      'Host',
      'example.com',
      'RANGE',
      'bytes=0-1',
      'If-None-Match',
      '"a"',
      'if-none-match',
      '"b", "c"',
      'Cache-Control',
      'no-cache',
    ]);
    assert.deepEqual(h.range, ['bytes=0-1']);
    assert.deepEqual(h.ifNoneMatch, ['"a"', '"b", "c"']);
    assert.deepEqual(h.cacheControl, ['no-cache']);
    assert.deepEqual(h.ifMatch, []);
    assert.deepEqual(h.pragma, []);
    assert.equal(h.sseC || h.expectedBucketOwner || h.requestPayer, false);
  });

  it('reads what the field-by-field lookups read, for 2,000 random requests', () => {
    const next = sequence(7);
    const pick = (n: number) => Math.floor((next.next().value as number) / 65_536) % n;
    for (let round = 0; round < 2000; round++) {
      const raw: string[] = [];
      const fields = pick(12);
      for (let i = 0; i < fields; i++) raw.push(NAMES[pick(NAMES.length)] as string, `v${round}-${i}`);
      const h = readHeadersOf(raw);
      for (const [field, name] of LISTS) {
        assert.deepEqual(h[field], headerValues(raw, name), `${field} of ${JSON.stringify(raw)}`);
      }
      const has = (name: string) => headerValues(raw, name).length > 0;
      assert.equal(h.expectedBucketOwner, has('x-amz-expected-bucket-owner'));
      assert.equal(h.requestPayer, has('x-amz-request-payer'));
      const sseC = raw.some((value, i) => i % 2 === 0 && value.toLowerCase().startsWith(SSE_C_PREFIX));
      assert.equal(h.sseC, sseC, JSON.stringify(raw));
    }
  });

  it('a field sent twice keeps both values, and another request’s are its own', () => {
    const first = readHeadersOf(['range', 'bytes=0-1', 'Range', 'bytes=2-3']);
    const second = readHeadersOf(['range', 'bytes=4-5']);
    assert.deepEqual(first.range, ['bytes=0-1', 'bytes=2-3']);
    assert.deepEqual(second.range, ['bytes=4-5']);
    assert.deepEqual(readHeadersOf([]).range, []);
  });
});
