import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentRange, parseRange, resolveRange } from '../../../src/s3/range.js';
import type { ByteRangeSpec, RangeHeader, ResolvedRange } from '../../../src/s3/types.js';

const bounded = (first: number, last: number): ByteRangeSpec => ({ kind: 'bounded', first, last });
const from = (first: number): ByteRangeSpec => ({ kind: 'from', first });
const suffix = (length: number): ByteRangeSpec => ({ kind: 'suffix', length });
const single = (spec: ByteRangeSpec): RangeHeader => ({ kind: 'single', spec });
const INVALID: RangeHeader = { kind: 'invalid' };
const MAX = Number.MAX_SAFE_INTEGER;

describe('parseRange', () => {
  const cases: [string | undefined, RangeHeader | null][] = [
    [undefined, null],
    ['bytes=0-99', single(bounded(0, 99))],
    ['bytes=100-', single(from(100))],
    ['bytes=-500', single(suffix(500))],
    ['bytes=0-0', single(bounded(0, 0))],
    ['bytes=-0', single(suffix(0))],
    ['bytes=5-5', single(bounded(5, 5))],
    ['BYTES=0-1', single(bounded(0, 1))],
    ['Bytes=0-1', single(bounded(0, 1))],
    ['  bytes=0-1', single(bounded(0, 1))],
    ['bytes=00-010', single(bounded(0, 10))],
    ['bytes=0-1,5-9', { kind: 'multiple', specs: [bounded(0, 1), bounded(5, 9)] }],
    ['bytes=0-1, 5-, -3', { kind: 'multiple', specs: [bounded(0, 1), from(5), suffix(3)] }],
    ['bytes= 0-1 ,\t5-9\t', { kind: 'multiple', specs: [bounded(0, 1), bounded(5, 9)] }],
    ['bytes=0-1,,5-9,', { kind: 'multiple', specs: [bounded(0, 1), bounded(5, 9)] }],
    ['bytes=,0-1', single(bounded(0, 1))],
    ['bytes=0-1,0-1', { kind: 'multiple', specs: [bounded(0, 1), bounded(0, 1)] }],
    [`bytes=0-${MAX}`, single(bounded(0, MAX))],
    [`bytes=${MAX}-`, single(from(MAX))],
    [`bytes=-${MAX}`, single(suffix(MAX))],
    // Invalid: S3 ignores these (RFC 9110 §14.2).
    ['', INVALID],
    ['bytes', INVALID],
    ['bytes=', INVALID],
    ['bytes=,', INVALID],
    ['bytes=-', INVALID],
    ['bytes=1', INVALID],
    ['bytes=10-5', INVALID],
    ['bytes=0-1,10-5', INVALID],
    ['bytes=a-b', INVALID],
    ['bytes=0x10-0x20', INVALID],
    ['bytes=1e3-', INVALID],
    ['bytes=+1-2', INVALID],
    ['bytes=-+1', INVALID],
    ['bytes=--1', INVALID],
    ['bytes=1.5-2', INVALID],
    ['bytes=0 - 1', INVALID],
    ['bytes =0-1', INVALID],
    ['bytes= =0-1', INVALID],
    ['bytes=0-1-2', INVALID],
    ['bytes=0-1;5-9', INVALID],
    ['items=0-1', INVALID],
    ['none', INVALID],
    ['=0-1', INVALID],
    ['bytes=0-1\r\nX-Injected: 1', INVALID],
    ['bytes=0-１', INVALID],
    [`bytes=0-${MAX + 1}`, INVALID],
    ['bytes=0-99999999999999999999999', INVALID],
    [`bytes=-${'9'.repeat(400)}`, INVALID],
    [`bytes=0-${'9'.repeat(10_000)}`, INVALID],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)?.slice(0, 60)}`, () => {
      assert.deepEqual(parseRange(value), expected);
    });
  }

  it('reads the common forms as the general parse does (a trailing empty element forces it)', () => {
    let x = 11;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor(x / 65_536) % n;
    };
    const digits = () =>
      next(4) === 0 ? '' : String(next(10) === 0 ? next(10 ** 6) * 10 ** 10 : next(10 ** 7));
    const pieces = ['bytes=', 'bytes=', 'Bytes=', 'bytes =', ' ', '0', '007', '-', '--', 'x', ''];
    for (let i = 0; i < 5000; i++) {
      const value =
        next(3) === 0
          ? Array.from({ length: 1 + next(5) }, () => pieces[next(pieces.length)]).join('')
          : `bytes=${digits()}-${digits()}${next(8) === 0 ? '9'.repeat(next(20)) : ''}`;
      assert.deepEqual(parseRange(value), parseRange(`${value},`), value);
    }
  });

  it('handles long whitespace runs quickly', () => {
    const started = performance.now();
    assert.deepEqual(parseRange(`bytes=${' '.repeat(100_000)}x`), INVALID);
    assert.deepEqual(parseRange(`bytes=0-1,${' \t'.repeat(50_000)}`), single(bounded(0, 1)));
    assert.ok(performance.now() - started < 500);
  });
});

describe('resolveRange', () => {
  const cases: [ByteRangeSpec, number, ResolvedRange | null][] = [
    [bounded(0, 99), 1000, { start: 0, end: 99 }],
    [bounded(0, 0), 1, { start: 0, end: 0 }],
    [bounded(500, 1500), 1000, { start: 500, end: 999 }],
    [bounded(999, 999), 1000, { start: 999, end: 999 }],
    [bounded(0, MAX), 1000, { start: 0, end: 999 }],
    [bounded(1000, 1000), 1000, null],
    [bounded(5000, 6000), 1000, null],
    [from(0), 1000, { start: 0, end: 999 }],
    [from(999), 1000, { start: 999, end: 999 }],
    [from(1000), 1000, null],
    [from(MAX), 1000, null],
    [suffix(500), 1000, { start: 500, end: 999 }],
    [suffix(1000), 1000, { start: 0, end: 999 }],
    [suffix(5000), 1000, { start: 0, end: 999 }],
    [suffix(MAX), 1000, { start: 0, end: 999 }],
    [suffix(1), 1000, { start: 999, end: 999 }],
    [suffix(0), 1000, null],
    [bounded(0, 0), 0, null],
    [from(0), 0, null],
    [suffix(10), 0, null],
    [suffix(0), 0, null],
    [bounded(0, 99), MAX, { start: 0, end: 99 }],
    [suffix(1), MAX, { start: MAX - 1, end: MAX - 1 }],
  ];
  for (const [spec, size, expected] of cases) {
    it(`${JSON.stringify(spec)} of ${size}`, () => {
      assert.deepEqual(resolveRange(spec, size), expected);
    });
  }
});

describe('contentRange', () => {
  const cases: [ResolvedRange, number, string][] = [
    [{ start: 0, end: 99 }, 1000, 'bytes 0-99/1000'],
    [{ start: 999, end: 999 }, 1000, 'bytes 999-999/1000'],
    [{ start: 0, end: MAX - 1 }, MAX, `bytes 0-${MAX - 1}/${MAX}`],
  ];
  for (const [range, size, expected] of cases) {
    it(expected, () => {
      assert.equal(contentRange(range, size), expected);
    });
  }
});
