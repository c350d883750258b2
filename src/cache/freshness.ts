// Whether a record may answer a read without S3 (the hit and revalidate states of
// docs/caching.md#the-states-of-a-read): fresh by the rule's TTL (RFC 9111 §4.2), servable stale when S3
// fails (RFC 5861 §4), and readable by this request under the rule's hit_auth (hit-auth.ts).

import type { EffectiveRule } from '../config/rules.js';
import type { S3Request } from '../s3/types.js';
import type { ObjectKey, ObjectRecord } from '../store/types.js';
import type { HitAuthMemo } from './hit-auth.js';

/** What freshness depends on: the method's TTL under the rule, and the time of the request. */
export interface FreshnessOf {
  method: 'GET' | 'HEAD';
  rule: EffectiveRule;
  now: number;
}

/** And who asks: the request, its key, and what S3 has said about its credentials. */
export interface ReaderOf extends FreshnessOf {
  key: ObjectKey;
  ex: { s3: S3Request; req: { rawHeaders: string[] } };
  cache: { hitAuth: HitAuthMemo };
}

/** The rule's TTL for the request's method. */
export function ttlOf(job: FreshnessOf): number {
  return job.method === 'HEAD' ? job.rule.headTtl : job.rule.getTtl;
}

/** RFC 9111 §4.2: fresh while the time since S3 last confirmed this version is below the rule's TTL. */
export function isFresh(record: ObjectRecord, job: FreshnessOf): boolean {
  const ttl = ttlOf(job);
  const confirmed = lastConfirmed(record);
  return ttl > 0 && confirmed !== null && job.now - confirmed < ttl;
}

function lastConfirmed(record: ObjectRecord): number | null {
  const times = [record.validatedGet, record.validatedHead].filter((t): t is number => t !== null);
  return times.length > 0 ? Math.max(...times) : null;
}

/**
 * Whether the rule's hit_auth lets this request read a hit without asking S3 (hit-auth.ts): S3 let its
 * credential read within the TTL, plus `grace` for a stale answer.
 */
export function mayReadHit(job: ReaderOf, grace: number): boolean {
  const { ex } = job;
  const within = ttlOf(job) + grace;
  return job.cache.hitAuth.mayServe(job.rule.hitAuth, ex.s3, ex.req.rawHeaders, job.key, job.now, within);
}

/**
 * RFC 5861 §4: past its TTL, still servable when S3 fails, for as long as the rule allows, and only to a
 * request that could have read a hit: S3 being down must not open the cache to whoever asks.
 */
export function mayServeStale(record: ObjectRecord, job: ReaderOf): boolean {
  const confirmed = lastConfirmed(record);
  return (
    job.rule.staleIfError > 0 &&
    confirmed !== null &&
    job.now - confirmed < ttlOf(job) + job.rule.staleIfError &&
    mayReadHit(job, job.rule.staleIfError)
  );
}
