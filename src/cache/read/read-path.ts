// The read path of GetObject and HeadObject, as a few named states (docs/architecture.md#a-requests-states),
// one file each:
//   lookup      → bypass or pass, which rule, which record, and so which state (this file)
//   hit         → fresh record: answer from it, fetching only missing chunks when the Range allows (hit.ts)
//   revalidate  → stale record: the client's own request, with If-None-Match, decides (revalidate.ts)
//   fill        → no usable record: the client's request goes to S3 untouched; its answer is cached (fill.ts)
//   pass        → not cacheable: forwarded and relayed, counted by reason (exchange/pass.ts)
// Each state returns the request's outcome (outcome.ts); readPath counts it, once, as it ends.

import { bypassReason, requestWantsRevalidation } from '../../s3/cacheable.js';
import { evaluateConditionals, hasConditionals, readConditionals } from '../../s3/conditionals.js';
import { readHeadersOf } from '../../s3/read-headers.js';
import { keyName } from '../../store/key-names.js';
import type { ObjectRecord } from '../../store/types.js';
import { type Cache, namespaceOf } from '../cache.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { countOutcome } from '../exchange/outcome.js';
import { pass } from '../exchange/pass.js';
import { isFresh, mayReadHit } from '../freshness.js';
import { settleWithin } from '../inflight.js';
import { fill } from './fill.js';
import { getFromRecord, headFromRecord, serve } from './hit.js';
import { rangeRequestOf } from './range-request.js';
import type { ReadJob, ReadStates } from './read-job.js';
import { readTurn } from './read-turn.js';
import { notModified, preconditionFailed } from './record-answer.js';

/** The states a later one returns to (read-job.ts): one table for every job, not one per request. */
const STATES: ReadStates = { fromRecord, serve };

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
  const arrived = performance.now();
  const s3 = ex.s3;
  const now = Date.now();
  const headers = readHeadersOf(ex.req.rawHeaders);
  const reason = bypassReason(s3, headers, now);
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
    headers,
    conditionals: readConditionals(headers),
    now,
    states: STATES,
  };
  const objectId = keyName(job.key);
  const recordWrite = cache.inflight.recordWrite(objectId);
  if (recordWrite) await settleWithin(recordWrite, cache.waitMs);
  // The reads of one turn wait for its end together (read-turn.ts): one look at the volume's change mark
  // then vouches for the records of all of them, and their answers go out back to back. A client's lone
  // read goes on at once.
  const turn = readTurn();
  if (turn !== null) await turn;
  // A record known at once is not awaited: each await is a turn of the microtask queue.
  const read = cache.records.read(job.key, arrived);
  let record = read instanceof Promise ? await read : read;
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
  const fresh = isFresh(record, job) && !requestWantsRevalidation(job.headers) && mayReadHit(job, 0);
  // Client conditionals are answered from a fresh record only; a stale one cannot know
  // (docs/caching.md#the-states-of-a-read).
  if (hasConditionals(job.conditionals)) {
    if (!fresh) return fill(job, record);
    const verdict = evaluateConditionals(job.conditionals, record, job.method);
    if (verdict.kind === 'not-modified') return notModified(job, record);
    if (verdict.kind === 'precondition-failed') return preconditionFailed(job);
    if (verdict.kind === 'forward') return fill(job, record);
  }
  const answer = rangeRequestOf(job.headers, record, job.part);
  if (answer === null) return fill(job, record);
  // An upload's record lacks what only S3's read answers tell (Last-Modified first): a HEAD costs no body
  // bytes, so the first one is S3's own, and its headers complete the record.
  if (job.method === 'HEAD' && record.lastModified === null) return fill(job, record);
  return job.method === 'HEAD'
    ? headFromRecord(job, record, answer, fresh)
    : getFromRecord(job, record, answer, fresh);
}
