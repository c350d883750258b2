// What the cache did with one request, as a value: the state that decided it returns it, and everything
// that reports it is derived from it here: the X-Cache header, the /stats counters (which the metrics
// observe), and the result the access log and the request counters show.

import type { CacheResult } from '../../telemetry/traffic.js';
import type { CacheBypass, CacheStats, RevalidationOutcome } from '../stats.js';

/** Why an S3 answer relayed with X-Cache MISS was not stored: S3 forbade it, or it could not be kept. */
export type UnstoredAnswer = Extract<CacheBypass, 'response-no-store' | 'cache-error'>;

/**
 * The result (the X-Cache value, `NONE` when none is sent) and why:
 * - `HIT`: `fresh`, `stale-if-error` (S3 failed and the rule allows it), or `conditional` (a 304 or 412
 *   answered from a fresh record);
 * - `REVALIDATED`: S3 confirmed the record (`revalidated`);
 * - `PARTIAL`: some bytes fetched from S3, the record `fresh` or just `revalidated` by that fetch;
 * - `MISS`: S3's answer relayed and `stored`, or `not-stored` (an error status, a revalidation S3
 *   refused), or one a shared cache must not keep or cannot place (`response-no-store`, `cache-error`,
 *   counted with the bypasses);
 * - `BYPASS`: passed through, for the bypass reason;
 * - `NONE`: no X-Cache, because Kura answered itself: S3 could not be asked, or the request could not be
 *   forwarded (`no-answer`); `bypass` keeps the bypass that was decided before that, which is counted.
 */
export type CacheDecision =
  | { result: 'HIT'; reason: 'fresh' | 'stale-if-error' | 'conditional' }
  | { result: 'REVALIDATED'; reason: 'revalidated' }
  | { result: 'PARTIAL'; reason: 'fresh' | 'revalidated' }
  | { result: 'MISS'; reason: 'stored' | 'not-stored' | UnstoredAnswer }
  | { result: 'BYPASS'; reason: CacheBypass }
  | { result: 'NONE'; reason: 'no-answer'; bypass?: CacheBypass };

/**
 * A decision, and what S3 answered each time it was asked to confirm a stale record on the way to it
 * (once as a rule; twice when the answer to one led to another, say a 304 then a changed object).
 */
export type CacheOutcome = CacheDecision & { revalidations?: readonly RevalidationOutcome[] };

export const HIT_FRESH: CacheOutcome = { result: 'HIT', reason: 'fresh' };
export const HIT_CONDITIONAL: CacheOutcome = { result: 'HIT', reason: 'conditional' };
export const MISS_STORED: CacheOutcome = { result: 'MISS', reason: 'stored' };
export const MISS_NOT_STORED: CacheOutcome = { result: 'MISS', reason: 'not-stored' };
export const NO_ANSWER: CacheOutcome = { result: 'NONE', reason: 'no-answer' };
export const PARTIAL_FRESH: CacheOutcome = { result: 'PARTIAL', reason: 'fresh' };
export const PARTIAL_REVALIDATED: CacheOutcome = { result: 'PARTIAL', reason: 'revalidated' };
export const REVALIDATED: CacheOutcome = { result: 'REVALIDATED', reason: 'revalidated' };
/** S3 failed and the rule's stale-if-error let the record answer. */
export const STALE_SERVED: CacheOutcome = {
  result: 'HIT',
  reason: 'stale-if-error',
  revalidations: ['stale-served'],
};

export function bypassed(reason: CacheBypass): CacheOutcome {
  return { result: 'BYPASS', reason };
}

/** The same outcome, reached after S3 answered a revalidation with `revalidation`. */
export function withRevalidation<T extends { cache?: CacheOutcome }>(
  outcome: T,
  revalidation: RevalidationOutcome,
): T {
  const cache = outcome.cache;
  if (cache === undefined) return outcome;
  return { ...outcome, cache: { ...cache, revalidations: [revalidation, ...(cache.revalidations ?? [])] } };
}

/** The outcome when Kura answers itself after `decision` (no X-Cache): what was counted stays counted. */
export function noAnswer(decision: CacheOutcome | undefined): CacheOutcome | undefined {
  if (decision === undefined || decision.result === 'NONE') return decision;
  return {
    ...NO_ANSWER,
    ...(decision.result === 'BYPASS' ? { bypass: decision.reason } : {}),
    ...(decision.revalidations === undefined ? {} : { revalidations: decision.revalidations }),
  };
}

/** Adds the X-Cache header of this outcome to a response head's flat header list. */
export function pushXCache(headers: (string | number)[], cache: CacheOutcome | undefined): void {
  if (cache !== undefined && cache.result !== 'NONE') headers.push('x-cache', cache.result);
}

/** The request counters' result: `NONE` for a request the cache had no part in. */
export function resultOf(cache: CacheOutcome | undefined): CacheResult {
  return cache === undefined ? 'NONE' : cache.result;
}

/** The X-Cache value sent, for the access log; null when none was. */
export function xCacheOf(cache: CacheOutcome | undefined): string | null {
  return cache === undefined || cache.result === 'NONE' ? null : cache.result;
}

/** Counts a read's outcome in the /stats counters. */
export function countOutcome(stats: CacheStats, cache: CacheOutcome | undefined): void {
  if (cache === undefined) return;
  if (cache.revalidations !== undefined) {
    for (const r of cache.revalidations) stats.revalidations[r] += 1;
  }
  switch (cache.result) {
    case 'HIT':
    case 'REVALIDATED':
      stats.hits += 1;
      return;
    case 'PARTIAL':
      stats.partial += 1;
      return;
    case 'MISS':
      if (cache.reason === 'stored') stats.misses += 1;
      else if (cache.reason !== 'not-stored') stats.bypass(cache.reason);
      return;
    case 'BYPASS':
      stats.bypass(cache.reason);
      return;
    case 'NONE':
      if (cache.bypass !== undefined) stats.bypass(cache.bypass);
      return;
  }
}
