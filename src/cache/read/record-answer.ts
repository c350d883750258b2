// Answers made from an object record alone: the response head S3 would send, a HEAD, and the 304 and
// 412 that client conditionals get from a fresh record (RFC 9110 §13.2.2).

import { preconditionFailed as failedPrecondition, renderS3Error } from '../../s3/errors.js';
import type { ObjectRecord } from '../../store/types.js';
import type { Outcome } from '../exchange/exchange.js';
import { type CacheOutcome, HIT_CONDITIONAL, pushXCache } from '../exchange/outcome.js';
import { sendHead } from '../exchange/reply.js';
import type { RangeRequest } from './range-request.js';
import type { ReadJob } from './read-job.js';
import { headersFromRecord, wantsChecksums } from './record-headers.js';

/** The response head S3 would send for `answer`, from the record, with the X-Cache of `cache`. */
export function writeHeadFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  cache: CacheOutcome,
): void {
  const headers = headersFromRecord(record, shapeOf(job, answer), cache);
  headers.push('x-amz-request-id', job.ex.requestId);
  sendHead(job.ex, answer.status, headers);
}

/** A HEAD answered from the record alone. */
export function headAnswer(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  cache: CacheOutcome,
): Outcome {
  writeHeadFromRecord(job, record, answer, cache);
  job.ex.res.end();
  return { status: answer.status, cache };
}

function shapeOf(job: ReadJob, answer: RangeRequest) {
  const whole = answer.status === 200 && job.part === null;
  return {
    status: answer.status,
    range: answer.range,
    withChecksums: whole && wantsChecksums(job.headers),
    partsCount: job.part === null ? null : answer.partsCount,
  };
}

export function notModified(job: ReadJob, record: ObjectRecord): Outcome {
  const cache = HIT_CONDITIONAL;
  const headers = ['etag', record.etag, 'x-amz-request-id', job.ex.requestId];
  pushXCache(headers, cache);
  if (record.lastModified !== null) headers.push('last-modified', record.lastModified);
  sendHead(job.ex, 304, headers);
  job.ex.res.end();
  return { status: 304, cache };
}

export function preconditionFailed(job: ReadJob): Outcome {
  const cache = HIT_CONDITIONAL;
  const error = failedPrecondition();
  const xml = renderS3Error({
    code: error.code,
    message: error.message,
    requestId: job.ex.requestId,
    resource: job.ex.s3.rawPath,
  });
  const body = Buffer.from(xml);
  const headers: (string | number)[] = [
    'content-type',
    'application/xml',
    'content-length',
    body.length,
    'x-amz-request-id',
    job.ex.requestId,
  ];
  pushXCache(headers, cache);
  sendHead(job.ex, error.status, headers);
  job.ex.res.end(job.method === 'HEAD' ? undefined : body);
  return { status: error.status, cache };
}
