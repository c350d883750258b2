// Answers Kura gives itself (S3-shaped XML errors, so that every S3 client can read them), and the one
// way a response head goes out, which notes when.

import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { renderS3Error } from '../../s3/errors.js';
import type { S3ErrorSpec } from '../../s3/types.js';

// A random per-process prefix and a counter: unique across instances and restarts without a random
// draw (a syscall) per request, which cost 3% of small-object throughput.
const ID_PREFIX = randomBytes(4).toString('hex').toUpperCase();
let idCounter = 0;

/** 16 upper-case hex characters, the shape of S3's own request ids. */
export function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x1_0000_0000;
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(8, '0');
}

/** A response, and where the time its head went out is noted (an Exchange is one). */
export interface HeadTarget {
  res: ServerResponse;
  headAt?: number;
}

/** Sends the response head and notes when: the access log's and the metrics' time to first byte. */
export function sendHead(
  to: HeadTarget,
  status: number,
  headers: OutgoingHttpHeaders | (string | number)[],
  statusText?: string,
): void {
  to.headAt = performance.now();
  if (statusText) to.res.writeHead(status, statusText, headers);
  else to.res.writeHead(status, headers);
}

export function replyError(
  to: HeadTarget,
  error: S3ErrorSpec,
  opts: { requestId: string; resource?: string; head?: boolean; hasBody?: boolean },
): void {
  const body = Buffer.from(
    renderS3Error({
      code: error.code,
      message: error.message,
      requestId: opts.requestId,
      resource: opts.resource,
    }),
  );
  const headers: Record<string, string | number> = {
    'content-type': 'application/xml',
    'content-length': body.length,
    'x-amz-request-id': opts.requestId,
  };
  // An unread request body (a refused 5 GiB PUT) is not worth reading just to keep the connection.
  if (opts.hasBody) headers.connection = 'close';
  sendHead(to, error.status, headers);
  to.res.end(opts.head ? undefined : body);
}
