// The revalidate state of a read: a stale record, and the client's own request sent to S3 with
// If-None-Match (and If-Modified-Since) added. A 304 confirms the record and its bytes answer as a hit
// does; a new version is filled (fill.ts); a 5xx or no answer serves the stale record where
// stale_if_error covers it (docs/architecture.md#a-requests-states).

import { headerValue } from '../../s3/headers.js';
import { keyName } from '../../store/key-names.js';
import type { ObjectRecord } from '../../store/types.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import type { Outcome } from '../exchange/exchange.js';
import { askS3, discard, failed, REVALIDATION_FAILED, relay } from '../exchange/origin-fetch.js';
import { MISS_NOT_STORED, REVALIDATED, STALE_SERVED, withRevalidation } from '../exchange/outcome.js';
import { isConfirmationWorthWriting, mayServeStale } from '../freshness.js';
import type { BodyJob, Plan } from './body-job.js';
import { fill, fillFromAnswer } from './fill.js';
import { learnLastModified } from './last-modified.js';
import type { RangeRequest } from './range-request.js';
import { type ReadJob, versionOf } from './read-job.js';
import { headAnswer } from './record-answer.js';

// ---- GET -------------------------------------------------------------------------------------------

export async function revalidateGet(
  job: ReadJob,
  body: BodyJob,
  answer: RangeRequest,
  plan: Plan | null,
): Promise<Outcome> {
  const serve = job.states.serve;
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

// ---- HEAD ------------------------------------------------------------------------------------------

export async function revalidateHead(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
): Promise<Outcome> {
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

// ---- shared by both, and by a hit that fetched a run with If-Match ------------------------------

/** Revalidation answered with something else than 304: the answer decides what the client gets. */
export async function afterRevalidation(
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
export function confirm(job: ReadJob, record: ObjectRecord, answer: readonly string[]): ObjectRecord {
  const learned = record.lastModified === null ? (headerValue(answer, 'last-modified') ?? null) : null;
  if (!isConfirmationWorthWriting(record, job) && learned === null) return record;
  // As for a fill's record (fill.ts): confirmed no later than the request left.
  const at = job.now;
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
  job.cache.inflight.trackRecordWrite(keyName(job.key), written);
  return learned === null ? record : { ...record, lastModified: learned };
}
