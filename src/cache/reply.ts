// Answers Kura gives itself: S3-shaped XML errors, so that every S3 client can read them.

import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { renderS3Error } from '../s3/errors.js';
import type { S3ErrorSpec } from '../s3/types.js';

// A random per-process prefix and a counter: unique across instances and restarts without a random
// draw (a syscall) per request, which cost 3% of small-object throughput.
const ID_PREFIX = randomBytes(4).toString('hex').toUpperCase();
let idCounter = 0;

/** 16 upper-case hex characters, the shape of S3's own request ids. */
export function newRequestId(): string {
  idCounter = (idCounter + 1) % 0x1_0000_0000;
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(8, '0');
}

export function replyError(
  res: ServerResponse,
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
  res.writeHead(error.status, headers);
  res.end(opts.head ? undefined : body);
}
