// The read path of GetObject and HeadObject, as a few named states (docs/architecture.md#a-requests-states):
//   lookup      → which rule, bypass or not, which record
//   hit         → fresh record: answer from it, fetching only missing chunks when the Range allows
//   revalidate  → stale record: the client's own request, with If-None-Match, decides
//   fill        → no usable record: the client's request goes to S3 untouched; its answer is cached
//   pass        → not cacheable: forwarded and relayed, counted by reason
// Each state returns the request's outcome (outcome.ts); readPath counts it, once, as it ends.

import { bypassReason, requestWantsRevalidation } from '../../s3/cacheable.js';
import { evaluateConditionals, hasConditionals, readConditionals } from '../../s3/conditionals.js';
import { headerValue } from '../../s3/headers.js';
import type { FetchLease } from '../../store/leases.js';
import type { ObjectRecord, ObjectVersion } from '../../store/types.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { type Cache, namespaceOf, objectIdOf, versionIdOf } from '../cache.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { askS3, discard, failed, REVALIDATION_FAILED, relay } from '../exchange/origin-fetch.js';
import {
  type CacheOutcome,
  countOutcome,
  HIT_FRESH,
  MISS_NOT_STORED,
  MISS_STORED,
  NO_ANSWER,
  PARTIAL_FRESH,
  PARTIAL_REVALIDATED,
  REVALIDATED,
  STALE_SERVED,
  withRevalidation,
} from '../exchange/outcome.js';
import { pass } from '../exchange/pass.js';
import { isConfirmationWorthWriting, isFresh, mayReadHit, mayServeStale } from '../freshness.js';
import { settleWithin } from '../inflight.js';
import {
  type BodyJob,
  fetchRun,
  missingCells,
  type Plan,
  planRange,
  type RunFetch,
  runFrom,
  streamPlan,
} from './cached-body.js';
import { leaseColdFill } from './fetch-lease.js';
import { fillFromAnswer } from './fill.js';
import { learnLastModified } from './last-modified.js';
import { isRangeHeaderSigned, type RangeRequest, rangeRequestOf } from './range-request.js';
import type { ReadJob } from './read-job.js';
import { headAnswer, notModified, preconditionFailed, writeHeadFromRecord } from './record-answer.js';

// ---- lookup ----------------------------------------------------------------------------------------

/** A GetObject or HeadObject, served by the state lookup picks; its outcome counted in /stats. */
export async function readPath(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = await lookup(ex, opts, cache);
  } catch (err) {
    // Invariant 4: the cache can fail, the request cannot. A GET or HEAD has no body: ask S3 afresh.
    if (ex.res.headersSent || ex.res.destroyed) throw err;
    cache.log.warn('cache failed; request passed to S3', {
      requestId: ex.requestId,
      error: (err as Error).message,
    });
    outcome = await pass(ex, opts, { bypass: 'cache-error' });
  }
  countOutcome(cache.stats, outcome.cache);
  return outcome;
}

async function lookup(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const s3 = ex.s3;
  const now = Date.now();
  const reason = bypassReason(s3, ex.req.rawHeaders, new Date(now));
  if (reason !== null) return pass(ex, opts, { bypass: reason });
  // bypassReason has checked the bucket name (src/s3/bucket-name.ts) and that there is a key.
  const bucket = s3.bucket as string;
  const key = s3.key as string;
  const ruled = cache.rules.rules.ruleFor(bucket, key);
  if (!ruled.read) return pass(ex, opts, { bypass: 'rule' });
  const rule = ex.hitAuth === undefined ? ruled : { ...ruled, hitAuth: ex.hitAuth };

  const job: ReadJob = {
    ex,
    opts,
    cache,
    key: { namespace: namespaceOf(s3, ex.route), bucket, key },
    rule,
    method: s3.method === 'HEAD' ? 'HEAD' : 'GET',
    part: s3.operation.partNumber,
    conditionals: readConditionals(ex.req.rawHeaders),
    now,
  };
  const objectId = objectIdOf(job.key);
  const recordWrite = cache.inflight.recordWrite(objectId);
  if (recordWrite) await settleWithin(recordWrite, cache.waitMs);
  let record = await cache.records.read(job.key);
  if (record === null) {
    // Another request is bringing this object for the first time: its answer will be a fresh record.
    const coldFill = cache.inflight.coldFill(objectId);
    if (coldFill) {
      cache.stats.coalesced += 1;
      await settleWithin(coldFill, cache.waitMs);
      record = await cache.records.read(job.key);
    }
  }
  if (record === null) return fill(job, null);
  return fromRecord(job, record);
}

function fromRecord(job: ReadJob, record: ObjectRecord): Promise<Outcome> | Outcome {
  // A fresh record answers only a request the rule's hit_auth admits; any other is S3's to judge.
  const fresh =
    isFresh(record, job) && !requestWantsRevalidation(job.ex.req.rawHeaders) && mayReadHit(job, 0);
  // Client conditionals are answered from a fresh record only; a stale one cannot know
  // (docs/caching.md#the-states-of-a-read).
  if (hasConditionals(job.conditionals)) {
    if (!fresh) return fill(job, record);
    const verdict = evaluateConditionals(job.conditionals, record, job.method);
    if (verdict.kind === 'not-modified') return notModified(job, record);
    if (verdict.kind === 'precondition-failed') return preconditionFailed(job);
    if (verdict.kind === 'forward') return fill(job, record);
  }
  const answer = rangeRequestOf(job.ex.req.rawHeaders, record, job.part);
  if (answer === null) return fill(job, record);
  // An upload's record lacks what only S3's read answers tell (Last-Modified first): a HEAD costs no body
  // bytes, so the first one is S3's own, and its headers complete the record.
  if (job.method === 'HEAD' && record.lastModified === null) return fill(job, record);
  return job.method === 'HEAD'
    ? headFromRecord(job, record, answer, fresh)
    : getFromRecord(job, record, answer, fresh);
}

function versionOf(job: ReadJob, record: ObjectRecord): ObjectVersion {
  return { ...job.key, etag: record.etag };
}

// ---- hit and revalidate: GET -------------------------------------------------------------------------

async function getFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  fresh: boolean,
): Promise<Outcome> {
  const { ex } = job;
  const body: BodyJob = {
    ex,
    opts: job.opts,
    cache: job.cache,
    record,
    version: versionOf(job, record),
    versionId: versionIdOf(versionOf(job, record)),
    ram: job.rule.ram,
    flexible: job.part === null && !isRangeHeaderSigned(ex.s3.signature, ex.req.rawHeaders),
    mayAddConditionals: !hasConditionals(job.conditionals),
  };
  const plan = answer.range === null ? null : await planRange(body, answer.range.start, answer.range.end);
  const missing = plan === null ? 0 : missingCells(plan);
  if (missing > 0 && !body.flexible) return fill(job, record);
  // With none of the bytes on hand (a record made by a HEAD), the answer is all S3's: a miss.
  const allFetched = plan !== null && missing === plan.cells.length;
  if (missing === 0) {
    return fresh ? serve(job, body, answer, plan, HIT_FRESH, false) : revalidateGet(job, body, answer, plan);
  }
  if (fresh) return serve(job, body, answer, plan, allFetched ? MISS_STORED : PARTIAL_FRESH, false);
  return serve(job, body, answer, plan, allFetched ? MISS_STORED : PARTIAL_REVALIDATED, true);
}

async function revalidateGet(job: ReadJob, body: BodyJob, answer: RangeRequest, plan: Plan | null) {
  const record = body.record;
  const asked = await askS3(job.ex, job.opts, conditionalOn(record));
  if (!asked.ok) {
    if (mayServeStale(record, job) && asked.error !== null) {
      return serve(job, body, answer, plan, STALE_SERVED, false);
    }
    return failed(job.ex, asked.error, REVALIDATION_FAILED);
  }
  const res = asked.res;
  if (res.status === 304) {
    discard(res);
    let learnedFrom: readonly string[] = res.headers;
    // A 304 need not carry Last-Modified (RFC 9110 §15.4.5): an upload's record learns it from S3 at no
    // body cost when it can, else S3's full answer refreshes it, so that no answer lacks it.
    if (record.lastModified === null && headerValue(res.headers, 'last-modified') === undefined) {
      const learned = await learnLastModified(job.ex, job.opts, record, res.headers);
      if (learned.kind === 'answer') {
        return withRevalidation(await afterRevalidation(job, record, learned.res, null), 'not-modified');
      }
      if (learned.kind === 'unknown') return withRevalidation(await fill(job, record), 'not-modified');
      learnedFrom = ['last-modified', learned.lastModified];
    }
    body.record = confirm(job, record, learnedFrom);
    return serve(job, body, answer, plan, { ...REVALIDATED, revalidations: ['not-modified'] }, false);
  }
  return afterRevalidation(job, record, res, () => serve(job, body, answer, plan, STALE_SERVED, false));
}

/** Revalidation answered with something else than 304: the answer decides what the client gets. */
async function afterRevalidation(
  job: ReadJob,
  record: ObjectRecord,
  res: UpstreamResponse,
  /** null when the cached bytes do not cover the answer. */
  serveStale: (() => Promise<Outcome>) | null,
): Promise<Outcome> {
  if (res.status === 200 || res.status === 206) {
    return withRevalidation(await fillFromAnswer(job, record, res), 'changed');
  }
  if (res.status === 401 || res.status === 403) {
    return relay(job.ex, res, { ...MISS_NOT_STORED, revalidations: ['denied'] });
  }
  if (res.status === 404) {
    await job.cache.forget(versionOf(job, record));
    return relay(job.ex, res, { ...MISS_NOT_STORED, revalidations: ['gone'] });
  }
  if (res.status >= 500 && serveStale !== null && mayServeStale(record, job)) {
    discard(res);
    return serveStale();
  }
  return relay(job.ex, res, { ...MISS_NOT_STORED, revalidations: ['error'] });
}

function conditionalOn(record: ObjectRecord) {
  return record.lastModified === null
    ? { ifNoneMatch: record.etag }
    : { ifNoneMatch: record.etag, ifModifiedSince: record.lastModified };
}

/**
 * S3 confirmed the version to this request: the record is fresh again (not worth a write at TTL 0). A
 * record made by an upload learns its Last-Modified here, from the 304, which is why it is made stale.
 */
function confirm(job: ReadJob, record: ObjectRecord, answer: readonly string[]): ObjectRecord {
  const learned = record.lastModified === null ? (headerValue(answer, 'last-modified') ?? null) : null;
  if (!isConfirmationWorthWriting(record, job) && learned === null) return record;
  const at = Date.now();
  const written = job.cache.records
    .update(job.key, (current) => {
      if (current?.etag !== record.etag) return undefined;
      const next =
        job.method === 'GET' ? { ...current, validatedGet: at } : { ...current, validatedHead: at };
      if (current.lastModified === null && learned !== null) next.lastModified = learned;
      return next;
    })
    .catch((err: Error) =>
      job.cache.log.warn('object record not refreshed', { key: job.key.key, error: err.message }),
    );
  // The client's next request may come before the write lands: it waits for it rather than ask again.
  job.cache.inflight.trackRecordWrite(objectIdOf(job.key), written);
  return learned === null ? record : { ...record, lastModified: learned };
}

/**
 * Answers from the record's bytes. With `authorize`, the first missing run is fetched with If-Match
 * before anything is sent: its 206 is S3's word for this request; otherwise the record is fresh.
 */
async function serve(
  job: ReadJob,
  body: BodyJob,
  answer: RangeRequest,
  plan: Plan | null,
  decided: CacheOutcome,
  authorize: boolean,
): Promise<Outcome> {
  const { ex, cache } = job;
  let outcome = decided;
  let first: { run: ReturnType<typeof runFrom>; fetched: RunFetch } | null = null;
  if (plan !== null) {
    const i = plan.cells.findIndex((c) => c.state === 'missing');
    if (i >= 0) {
      const run = runFrom(plan, i, cache.volume.chunkSize, cache.mergeGap);
      const fetched = await fetchRun(body, run);
      if (fetched.kind === 'changed') {
        await cache.forget(body.version);
        return withRevalidation(await fill(job, null), 'changed');
      }
      if (fetched.kind === 'failed')
        return failed(ex, fetched.error, authorize ? REVALIDATION_FAILED : NO_ANSWER);
      if (fetched.kind === 'answer') {
        if (!authorize) return relay(ex, fetched.res, MISS_NOT_STORED);
        return afterRevalidation(job, body.record, fetched.res, null);
      }
      if (authorize) {
        outcome = { ...decided, revalidations: ['not-modified'] };
        body.record = confirm(job, body.record, fetched.res.headers);
      }
      first = { run, fetched };
    }
  }
  writeHeadFromRecord(job, body.record, answer, outcome);
  if (plan === null) {
    ex.res.end();
    return { status: answer.status, cache: outcome };
  }
  try {
    await streamPlan(body, plan, first);
    ex.res.end();
    return { status: answer.status, cache: outcome };
  } catch (err) {
    ex.res.destroy();
    return { status: answer.status, error: `cache: ${(err as Error).message}`, cache: outcome };
  }
}

// ---- hit and revalidate: HEAD ------------------------------------------------------------------------

async function headFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  fresh: boolean,
): Promise<Outcome> {
  if (fresh) return headAnswer(job, record, answer, HIT_FRESH);

  const asked = await askS3(job.ex, job.opts, conditionalOn(record));
  if (!asked.ok) {
    if (mayServeStale(record, job) && asked.error !== null)
      return headAnswer(job, record, answer, STALE_SERVED);
    return failed(job.ex, asked.error, REVALIDATION_FAILED);
  }
  if (asked.res.status === 304) {
    discard(asked.res);
    const confirmed = confirm(job, record, asked.res.headers);
    return headAnswer(job, confirmed, answer, { ...REVALIDATED, revalidations: ['not-modified'] });
  }
  return afterRevalidation(job, record, asked.res, async () => headAnswer(job, record, answer, STALE_SERVED));
}

// ---- fill ------------------------------------------------------------------------------------------

/** The client's request, untouched, to S3; a 200/206 answer is streamed and cached. */
async function fill(job: ReadJob, record: ObjectRecord | null): Promise<Outcome> {
  const { cache } = job;
  const objectId = objectIdOf(job.key);
  const finishCold = record === null ? cache.inflight.startColdFill(objectId) : null;
  if (record === null && finishCold === null) {
    // Another request began the first fetch since this one looked: its record answers this one too.
    cache.stats.coalesced += 1;
    await settleWithin(cache.inflight.coldFill(objectId) ?? Promise.resolve(), cache.waitMs);
    const recorded = await cache.records.read(job.key);
    if (recorded !== null) return fromRecord(job, recorded);
  }
  let fleetLease: FetchLease | null = null;
  if (finishCold !== null) {
    // Other instances may be bringing the same object: wait for their record rather than fetch it again.
    const leased = await leaseColdFill(cache, job.key);
    if (leased.record !== null) {
      finishCold();
      return fromRecord(job, leased.record);
    }
    fleetLease = leased.lease;
  }
  const recordWritten = () => {
    finishCold?.();
    void fleetLease?.release();
  };
  let handedOver = false;
  try {
    const asked = await askS3(job.ex, job.opts);
    if (!asked.ok) return failed(job.ex, asked.error);
    handedOver = true;
    return await fillFromAnswer(job, record, asked.res, recordWritten);
  } finally {
    if (!handedOver) recordWritten();
  }
}
