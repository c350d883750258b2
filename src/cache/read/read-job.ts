// One GetObject or HeadObject as the read states (read-path.ts, hit.ts, revalidate.ts, fill.ts,
// record-answer.ts) pass it on: the exchange, the rule that governs its key, what lookup learned of the
// request, and the states a later one returns to.

import type { EffectiveRule } from '../../config/rules.js';
import type { Conditionals } from '../../s3/conditionals.js';
import type { ReadHeaders } from '../../s3/read-headers.js';
import type { ObjectKey, ObjectRecord, ObjectVersion } from '../../store/types.js';
import type { Cache } from '../cache.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import type { CacheOutcome } from '../exchange/outcome.js';
import type { BodyJob, Plan } from './body-job.js';
import type { RangeRequest } from './range-request.js';

/**
 * The states reached backwards: a fill that finds a record another request wrote goes back to the
 * record's state, and a revalidation S3 confirmed serves the record's bytes as a hit does. Importing
 * them would make the state modules a cycle; one table, made once in read-path.ts, is on every job.
 */
export interface ReadStates {
  fromRecord(job: ReadJob, record: ObjectRecord): Promise<Outcome> | Outcome;
  serve(
    job: ReadJob,
    body: BodyJob,
    answer: RangeRequest,
    plan: Plan | null,
    decided: CacheOutcome,
    authorize: boolean,
  ): Promise<Outcome>;
}

export interface ReadJob {
  ex: Exchange;
  opts: PassOptions;
  cache: Cache;
  key: ObjectKey;
  rule: EffectiveRule;
  method: 'GET' | 'HEAD';
  part: number | null;
  /** The request fields that decide how it is read, found in one pass. */
  headers: ReadHeaders;
  conditionals: Conditionals;
  /** Date.now() as the lookup began: before any request to S3, so no later than S3 decided its answer. */
  now: number;
  states: ReadStates;
}

export function versionOf(job: ReadJob, record: ObjectRecord): ObjectVersion {
  return { ...job.key, etag: record.etag };
}
