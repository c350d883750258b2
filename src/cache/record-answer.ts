// Answers made from an object record alone: the response head S3 would send, a HEAD, and the 304 and
// 412 that client conditionals get from a fresh record (RFC 9110 §13.2.2).

import { preconditionFailed as failedPrecondition, renderS3Error } from '../s3/errors.js';
import type { ObjectRecord } from '../store/types.js';
import type { Outcome } from './pass.js';
import type { RangeRequest } from './range-request.js';
import type { ReadJob } from './read-path.js';
import { headersFromRecord, wantsChecksums } from './record-headers.js';

export type XCache = 'HIT' | 'REVALIDATED' | 'PARTIAL' | 'MISS';

/** The response head S3 would send for `answer`, from the record; counted by how it was served. */
export function writeHeadFromRecord(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  xCache: XCache,
): void {
  const { stats } = job.cache;
  if (xCache === 'PARTIAL') stats.partial += 1;
  else if (xCache === 'MISS') stats.misses += 1;
  else stats.hits += 1;
  const headers = headersFromRecord(record, shapeOf(job, answer), xCache);
  headers.push('x-amz-request-id', job.ex.requestId);
  job.ex.res.writeHead(answer.status, headers);
}

/** A HEAD answered from the record alone. */
export function headAnswer(
  job: ReadJob,
  record: ObjectRecord,
  answer: RangeRequest,
  xCache: XCache,
): Outcome {
  writeHeadFromRecord(job, record, answer, xCache);
  job.ex.res.end();
  return { status: answer.status };
}

function shapeOf(job: ReadJob, answer: RangeRequest) {
  const whole = answer.status === 200 && job.part === null;
  return {
    status: answer.status,
    range: answer.range,
    withChecksums: whole && wantsChecksums(job.ex.req.rawHeaders),
    partsCount: job.part === null ? null : answer.partsCount,
  };
}

export function notModified(job: ReadJob, record: ObjectRecord): Outcome {
  job.cache.stats.hits += 1;
  const headers = ['etag', record.etag, 'x-amz-request-id', job.ex.requestId, 'x-cache', 'HIT'];
  if (record.lastModified !== null) headers.push('last-modified', record.lastModified);
  job.ex.res.writeHead(304, headers);
  job.ex.res.end();
  return { status: 304 };
}

export function preconditionFailed(job: ReadJob): Outcome {
  job.cache.stats.hits += 1;
  const error = failedPrecondition();
  const xml = renderS3Error({
    code: error.code,
    message: error.message,
    requestId: job.ex.requestId,
    resource: job.ex.s3.rawPath,
  });
  const body = Buffer.from(xml);
  job.ex.res.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': body.length,
    'x-amz-request-id': job.ex.requestId,
    'x-cache': 'HIT',
  });
  job.ex.res.end(job.method === 'HEAD' ? undefined : body);
  return { status: error.status };
}
