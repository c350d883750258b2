// What the cache may keep and for how long, decided here and nowhere else, without I/O: the TTL of a
// method under its rule, when S3 last confirmed a record, whether it is fresh (RFC 9111 §4.2; the hit
// and revalidate states of docs/caching.md#the-states-of-a-read), servable stale when S3 fails (RFC 5861
// §4), readable by this request under the rule's hit_auth (hit-auth.ts), expired for everyone (cache.expiration `active`), and whether an S3 answer may be stored at all
// (RFC 9111 §5.2.2). Which bucket names are cached is S3 naming: src/s3/bucket-name.ts, checked by the
// read path through src/s3/cacheable.ts and by write-through through write-admission.ts.

import type { EffectiveRule } from '../config/rules.js';
import { cacheDirectives } from '../s3/cacheable.js';
import { headerValues } from '../s3/headers.js';
import type { S3Request } from '../s3/types.js';
import type { ObjectKey, ObjectRecord } from '../store/types.js';
import type { HitAuthMemo } from './hit-auth.js';

type TtlRule = Pick<EffectiveRule, 'getTtl' | 'headTtl' | 'staleIfError'>;

/** What freshness depends on: the method's TTL under the rule, and the time of the request. */
export interface FreshnessOf {
  method: 'GET' | 'HEAD';
  rule: TtlRule;
  now: number;
}

/** And who asks: the request, its key, and what S3 has said about its credentials. */
export interface ReaderOf extends FreshnessOf {
  rule: EffectiveRule;
  key: ObjectKey;
  ex: { s3: S3Request; req: { rawHeaders: string[] } };
  cache: { hitAuth: HitAuthMemo };
}

/** The rule's TTL for the request's method. */
export function ttlOf(job: Pick<FreshnessOf, 'method' | 'rule'>): number {
  return job.method === 'HEAD' ? job.rule.headTtl : job.rule.getTtl;
}

/**
 * When S3 last confirmed this version to a read (a GET or HEAD answer, or a 304), or null when no read
 * has yet. An upload's record counts as unconfirmed although S3 accepted the write: S3's answer to a
 * write says nothing of what a read is answered (Last-Modified first) nor of who may read, so its first
 * read asks S3 (record-headers.ts, uploadRecord).
 */
export function lastConfirmed(record: ObjectRecord): number | null {
  const { validatedGet: get, validatedHead: head } = record;
  if (get === null) return head;
  return head === null || get > head ? get : head;
}

/** RFC 9111 §4.2: fresh while the time since S3 last confirmed this version is below the rule's TTL. */
export function isFresh(record: ObjectRecord, job: FreshnessOf): boolean {
  const ttl = ttlOf(job);
  const confirmed = lastConfirmed(record);
  return ttl > 0 && confirmed !== null && job.now - confirmed < ttl;
}

/**
 * Whether S3's confirmation is worth writing to the record: not at TTL 0 (nothing would ever read it as
 * fresh), nor while the record is fresh anyway (a revalidation that hit_auth or the client asked for).
 */
export function isConfirmationWorthWriting(record: ObjectRecord, job: FreshnessOf): boolean {
  return ttlOf(job) > 0 && !isFresh(record, job);
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
  return isWithinStaleIfError(record, job) && mayReadHit(job, job.rule.staleIfError);
}

/** The time part of mayServeStale: confirmed, and within the TTL plus stale-if-error. */
export function isWithinStaleIfError(record: ObjectRecord, job: FreshnessOf): boolean {
  const confirmed = lastConfirmed(record);
  return (
    job.rule.staleIfError > 0 &&
    confirmed !== null &&
    job.now - confirmed < ttlOf(job) + job.rule.staleIfError
  );
}

/**
 * Expired for every request (cache.expiration `active` removes it): past the longer of its GET and HEAD
 * TTLs and any stale-if-error allowance since S3 last confirmed it or it was made. An upload's record that
 * no read has confirmed yet counts from its upload, so that it lives as long as a read's record would.
 */
export function isExpired(record: ObjectRecord, rule: TtlRule, now: number): boolean {
  const since = Math.max(lastConfirmed(record) ?? 0, record.createdAt);
  return now - since > Math.max(rule.getTtl, rule.headTtl) + rule.staleIfError;
}

/**
 * RFC 9111 §5.2.2.5 (`no-store`) and §5.2.2.7 (`private`): S3's answer that a shared cache must not store,
 * read with the same Cache-Control parser as the request's directives.
 */
export function forbidsStoring(answerHeaders: readonly string[]): boolean {
  const directives = cacheDirectives(headerValues(answerHeaders, 'cache-control'));
  return directives.has('no-store') || directives.has('private');
}
