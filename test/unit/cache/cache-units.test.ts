// The cache's small pure parts: the RAM tier's byte bound and LRU order, the merge of missing chunk
// runs, and what a record keeps from an S3 answer.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HIT_FRESH } from '../../../src/cache/exchange/outcome.js';
import { RamTier } from '../../../src/cache/ram-tier.js';
import type { Plan } from '../../../src/cache/read/body-job.js';
import { runFrom } from '../../../src/cache/read/cell-runs.js';
import { headersFromRecord, parseContentRange, readAnswer } from '../../../src/cache/read/record-headers.js';
import { BufferPool } from '../../../src/store/buffer-pool.js';
import type { ChunkContent, ObjectRecord } from '../../../src/store/types.js';

const chunk = (index: number, size: number): ChunkContent => ({
  index,
  full: true,
  pieces: [{ start: 0, bytes: Buffer.alloc(size, index) }],
});

describe('RamTier', () => {
  test('holds at most its capacity in bytes, dropping the least recently used first', () => {
    const ram = new RamTier(1000);
    ram.set('a', chunk(1, 90));
    ram.set('b', chunk(2, 90));
    ram.set('c', chunk(3, 90));
    assert.equal(ram.bytes, 270);
    assert.ok(ram.get('a'), 'a is used, so b is now the least recent');
    for (let i = 0; i < 9; i++) ram.set(`x${i}`, chunk(4, 90));
    assert.ok(ram.bytes <= 1000);
    assert.equal(ram.get('b'), undefined, 'the least recently used went first');
    assert.ok(ram.get('a'));
  });

  test('a used chunk gets a second chance: passed by once, then dropped if not used again', () => {
    const ram = new RamTier(1000);
    const ids = 'abcdefghij'.split('');
    for (const [i, id] of ids.entries()) ram.set(id, chunk(i, 100));
    ram.get('a');
    ram.set('k', chunk(10, 100)); // a is passed by (unmarked, now at the back); b goes
    assert.equal(ram.get('b'), undefined);
    assert.equal(ram.bytes, 1000);
    // Nothing read since: the next chunks push out c, then d, and so on (e to j, then k); a, passed by
    // once and now after k, goes when its turn comes round again.
    ram.set('l', chunk(11, 100));
    ram.set('m', chunk(12, 100));
    assert.equal(ram.get('c'), undefined);
    assert.equal(ram.get('d'), undefined);
    for (let i = 0; i < 7; i++) ram.set(`x${i}`, chunk(13 + i, 100));
    assert.equal(ram.get('k'), undefined);
    ram.set('y', chunk(20, 100));
    assert.equal(ram.get('a'), undefined, 'not used again: dropped in its turn');
    assert.ok(ram.get('l') && ram.get('m') && ram.get('y'));
  });

  test('a chunk larger than a tenth of the tier is not kept', () => {
    const ram = new RamTier(1000);
    ram.set('big', chunk(1, 101));
    assert.equal(ram.get('big'), undefined);
    assert.equal(ram.bytes, 0);
  });

  test('deletePrefix drops a version or an object', () => {
    const ram = new RamTier(10_000);
    ram.set('obj\netag1/0', chunk(0, 10));
    ram.set('obj\netag1/1', chunk(1, 10));
    ram.set('obj\netag2/0', chunk(0, 10));
    ram.set('other\netag/0', chunk(0, 10));
    ram.deletePrefix('obj\netag1/');
    assert.equal(ram.bytes, 20);
    ram.deletePrefix('obj\n');
    assert.equal(ram.bytes, 10);
    assert.ok(ram.get('other\netag/0'));
  });

  test('a chunk in one of the pool’s size classes is kept as a copy of its own size; the class buffer goes back', () => {
    const pool = new BufferPool(1024 * 1024, 4);
    const ram = new RamTier(1_000_000, pool);
    const file = pool.take(70_000); // a 128 KiB class
    file.fill(7);
    const piece = file.subarray(100, 70_000);
    pool.hold(piece); // the reader sending it
    ram.set('small/0', { index: 0, full: true, pieces: [{ start: 0, bytes: piece }] });
    const kept = ram.get('small/0')?.pieces[0]?.bytes as Buffer;
    assert.equal(kept.buffer.byteLength, 69_900, 'a buffer of its own size');
    assert.equal(ram.bytes, 69_900);
    assert.ok(kept.equals(piece));
    assert.equal(pool.free, 0, 'the reader still holds the class buffer');
    pool.release(piece);
    assert.equal(pool.free, 1);
    assert.equal(pool.take(70_000).buffer, file.buffer, 'and it is used again');
    assert.ok(
      ram.get('small/0')?.pieces[0]?.bytes.every((b) => b === 7),
      'the kept copy is untouched',
    );
  });

  test('a chunk read in ranges is let in on its second range read, among the last 16,384 so read', () => {
    const ram = new RamTier(10_000);
    assert.equal(ram.rangeReadBefore('a/0'), false, 'first: read its blocks only');
    assert.equal(ram.rangeReadBefore('a/0'), true, 'second: read it whole, into RAM');
    assert.equal(ram.rangeReadBefore('a/0'), false, 'counted anew after');
    for (let i = 0; i < 16_384; i++) ram.rangeReadBefore(`scan/${i}`);
    assert.equal(ram.rangeReadBefore('a/0'), false, 'forgotten past 16,384 others');
    assert.equal(ram.rangeReadBefore('scan/16383'), true, 'the latest are remembered');
  });
});

describe('runFrom merges missing chunks across small cached gaps', () => {
  const CS = 100;
  const plan = (states: string): Plan => ({
    start: 0,
    end: states.length * CS - 1,
    cells: [...states].map((c, index) => ({ index, state: c === 'm' ? 'missing' : 'cached' })),
  });
  const cases: [string, number, number, { first: number; last: number }][] = [
    ['mmm', 0, 0, { first: 0, last: 2 }],
    ['mcm', 0, 0, { first: 0, last: 0 }],
    ['mcm', 0, 100, { first: 0, last: 2 }],
    ['mccm', 0, 100, { first: 0, last: 0 }],
    ['mccm', 0, 200, { first: 0, last: 3 }],
    ['cmmcc', 1, 500, { first: 1, last: 2 }],
    ['m', 0, 1000, { first: 0, last: 0 }],
  ];
  for (const [states, i, gap, want] of cases) {
    test(`${states} from ${i}, gap ${gap}`, () => {
      assert.deepEqual(runFrom(plan(states), i, CS, gap), want);
    });
  }
});

describe('record headers', () => {
  test('parseContentRange reads a 206 and refuses what is not one', () => {
    assert.deepEqual(parseContentRange('bytes 0-99/1000'), { start: 0, end: 99, size: 1000 });
    for (const bad of [
      undefined,
      'bytes */1000',
      'bytes 5-4/10',
      'bytes 0-10/10',
      'items 0-1/2',
      'bytes 0-1/x',
    ]) {
      assert.equal(parseContentRange(bad), null, String(bad));
    }
  });

  const raw = [
    'ETag',
    '"abc"',
    'Last-Modified',
    'Sun, 22 Nov 2026 00:00:00 GMT',
    'Content-Type',
    'text/plain',
    'Content-Length',
    '10',
    'x-amz-meta-team',
    'data',
    'x-amz-request-id',
    'R1',
    'x-amz-checksum-crc32',
    'AAAAAA==',
    'Date',
    'Sun, 22 Nov 2026 00:00:01 GMT',
  ];

  test('an answer keeps what describes the object and drops what describes the response', () => {
    const facts = readAnswer(200, raw, 'GET');
    assert.ok(typeof facts === 'object');
    assert.equal(facts.etag, '"abc"');
    assert.equal(facts.size, 10);
    assert.deepEqual(facts.range, { start: 0, end: 9 });
    assert.deepEqual(facts.headers, [
      ['content-type', 'text/plain'],
      ['x-amz-meta-team', 'data'],
    ]);
    assert.deepEqual(facts.checksums, [['x-amz-checksum-crc32', 'AAAAAA==']]);
  });

  test('answers a shared cache must not keep, or cannot place, are refused', () => {
    assert.equal(readAnswer(200, ['Content-Length', '1'], 'GET'), 'no-etag');
    assert.equal(readAnswer(200, [...raw, 'Cache-Control', 'private, max-age=10'], 'GET'), 'no-store');
    assert.equal(readAnswer(200, [...raw, 'Cache-Control', 'no-store'], 'GET'), 'no-store');
    assert.equal(readAnswer(206, raw, 'GET'), 'no-length');
  });

  test('headersFromRecord recomputes length and range, and adds checksums only when asked', () => {
    const record = {
      etag: '"abc"',
      lastModified: 'Sun, 22 Nov 2026 00:00:00 GMT',
      size: 1000,
      headers: [['content-type', 'text/plain']],
      checksums: [['x-amz-checksum-crc32', 'AAAAAA==']],
    } as unknown as ObjectRecord;
    const ranged = headersFromRecord(
      record,
      { status: 206, range: { start: 10, end: 19 }, withChecksums: false, partsCount: null },
      HIT_FRESH,
    );
    const map = new Map<string, string>();
    for (let i = 0; i < ranged.length; i += 2) map.set(ranged[i] as string, ranged[i + 1] as string);
    assert.equal(map.get('content-length'), '10');
    assert.equal(map.get('content-range'), 'bytes 10-19/1000');
    assert.equal(map.get('x-cache'), 'HIT');
    assert.equal(map.has('x-amz-checksum-crc32'), false);
    const whole = headersFromRecord(
      record,
      { status: 200, range: { start: 0, end: 999 }, withChecksums: true, partsCount: null },
      HIT_FRESH,
    );
    assert.ok(whole.includes('x-amz-checksum-crc32'));
    assert.equal(whole[whole.indexOf('content-length') + 1], '1000');
  });
});
