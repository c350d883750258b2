import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bypassed,
  type CacheOutcome,
  countOutcome,
  HIT_CONDITIONAL,
  HIT_FRESH,
  MISS_NOT_STORED,
  MISS_STORED,
  NO_ANSWER,
  noAnswer,
  PARTIAL_FRESH,
  pushXCache,
  REVALIDATED,
  resultOf,
  STALE_SERVED,
  withRevalidation,
  xCacheOf,
} from '../../../src/cache/exchange/outcome.js';
import { CacheStats } from '../../../src/cache/stats.js';

/** The counters an outcome moves, as `name: delta` (zeros left out). */
function counted(cache: CacheOutcome | undefined): Record<string, number> {
  const stats = new CacheStats();
  countOutcome(stats, cache);
  const moved: Record<string, number> = {};
  if (stats.hits) moved.hits = stats.hits;
  if (stats.misses) moved.misses = stats.misses;
  if (stats.partial) moved.partial = stats.partial;
  for (const [k, v] of Object.entries(stats.revalidations)) if (v) moved[`revalidations.${k}`] = v;
  for (const [k, v] of Object.entries(stats.bypasses)) if (v) moved[`bypasses.${k}`] = v;
  return moved;
}

describe('one outcome: its X-Cache, its request result and its /stats counters', () => {
  const cases: [string, CacheOutcome | undefined, string | null, Record<string, number>][] = [
    ['not a read', undefined, null, {}],
    ['fresh hit', HIT_FRESH, 'HIT', { hits: 1 }],
    ['304 or 412 from a fresh record', HIT_CONDITIONAL, 'HIT', { hits: 1 }],
    ['served stale', STALE_SERVED, 'HIT', { hits: 1, 'revalidations.stale-served': 1 }],
    [
      'revalidated',
      { ...REVALIDATED, revalidations: ['not-modified'] },
      'REVALIDATED',
      { hits: 1, 'revalidations.not-modified': 1 },
    ],
    ['partial', PARTIAL_FRESH, 'PARTIAL', { partial: 1 }],
    ['filled', MISS_STORED, 'MISS', { misses: 1 }],
    ['relayed, not stored', MISS_NOT_STORED, 'MISS', {}],
    [
      'an answer S3 says not to store',
      { result: 'MISS', reason: 'response-no-store' },
      'MISS',
      { 'bypasses.response-no-store': 1 },
    ],
    ['bypassed', bypassed('query'), 'BYPASS', { 'bypasses.query': 1 }],
    ['S3 could not be asked', NO_ANSWER, null, {}],
    ['bypassed, then S3 could not be asked', noAnswer(bypassed('rule')), null, { 'bypasses.rule': 1 }],
    [
      'a revalidation S3 did not answer',
      noAnswer({ ...MISS_NOT_STORED, revalidations: ['error'] }),
      null,
      { 'revalidations.error': 1 },
    ],
  ];
  for (const [name, cache, xCache, moved] of cases) {
    test(name, () => {
      assert.equal(xCacheOf(cache), xCache);
      assert.equal(resultOf(cache), xCache ?? 'NONE');
      const headers: string[] = [];
      pushXCache(headers, cache);
      assert.deepEqual(headers, xCache === null ? [] : ['x-cache', xCache]);
      assert.deepEqual(counted(cache), moved);
    });
  }

  test('each revalidation on the way counts: a 304, then the object changed', () => {
    const outcome = withRevalidation(
      withRevalidation({ status: 200, cache: MISS_STORED }, 'changed'),
      'not-modified',
    );
    assert.deepEqual(outcome.cache?.revalidations, ['not-modified', 'changed']);
    assert.deepEqual(counted(outcome.cache), {
      misses: 1,
      'revalidations.not-modified': 1,
      'revalidations.changed': 1,
    });
    assert.equal(MISS_STORED.revalidations, undefined, 'the shared constant is not changed');
  });
});
