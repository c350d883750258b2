// The hit state of a read: a fresh record answers from its bytes (the volume's chunks or the RAM tier),
// fetching only missing chunk runs when the Range allows (docs/architecture.md#a-requests-states). A
// stale record goes on to revalidate.ts; bytes the record cannot serve go to the fill (fill.ts).

import { hasConditionals } from '../../s3/conditionals.js';
import { versionName } from '../../store/key-names.js';
import type { ObjectRecord } from '../../store/types.js';
import type { Outcome } from '../exchange/exchange.js';
import { failed, REVALIDATION_FAILED, relay } from '../exchange/origin-fetch.js';
import {
  type CacheOutcome,
  HIT_FRESH,
  MISS_NOT_STORED,
  MISS_STORED,
  NO_ANSWER,
  PARTIAL_FRESH,
  PARTIAL_REVALIDATED,
  withRevalidation,
} from '../exchange/outcome.js';
import type { BodyJob, Plan } from './body-job.js';
import { missingCells, planRange, streamPlan } from './cached-body.js';
import { fetchRun, type RunFetch, runFrom } from './cell-runs.js';
import { fill } from './fill.js';
import { isRangeHeaderSigned, type RangeRequest } from './range-request.js';
import { type ReadJob, versionOf } from './read-job.js';
import { headAnswer, writeHeadFromRecord } from './record-answer.js';
import { afterRevalidation, confirm, revalidateGet, revalidateHead } from './revalidate.js';

// ---- GET -------------------------------------------------------------------------------------------

export async function getFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  fresh: boolean,
): Promise<Outcome> {
  const { ex } = job;
  const version = versionOf(job, record);
  const body: BodyJob = {
    ex,
    opts: job.opts,
    cache: job.cache,
    record,
    version,
    versionName: versionName(version),
    ram: job.rule.ram,
    flexible: job.part === null && !isRangeHeaderSigned(ex.s3.signature, job.headers),
    mayAddConditionals: !hasConditionals(job.conditionals),
  };
  const planned = answer.range === null ? null : planRange(body, answer.range.start, answer.range.end);
  // A plan from RAM is not awaited: each await is a turn of the microtask queue.
  const plan = planned instanceof Promise ? await planned : planned;
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

/**
 * Answers from the record's bytes. With `authorize`, the first missing run is fetched with If-Match
 * before anything is sent: its 206 is S3's word for this request; otherwise the record is fresh.
 */
export async function serve(
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

// ---- HEAD ------------------------------------------------------------------------------------------

export async function headFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  fresh: boolean,
): Promise<Outcome> {
  if (fresh) return headAnswer(job, record, answer, HIT_FRESH);
  return revalidateHead(job, record, answer);
}
