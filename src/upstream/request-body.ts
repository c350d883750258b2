// The request body as undici is given it, so that S3 receives it framed as the client framed it.
//
// A client's `Transfer-Encoding: chunked` is dropped from the forwarded headers (undici owns framing,
// src/upstream/headers.ts) and must come back as undici's own chunked framing: the client may have signed
// it. undici frames a byte stream of unknown length as chunked, but a stream that has already ended it
// measures and sends with Content-Length (`bodyLength` in undici's lib/core/util.js), so a small body that
// arrived whole before Kura forwarded it would change framing. An object-mode stream is never measured:
// passing the client's bytes through one keeps chunked framing whatever the timing.

import { PassThrough, pipeline, Readable } from 'node:stream';
import { headerValues } from '../s3/headers.js';

/** RFC 9112 §6.1: the body is chunked when `chunked` is the final transfer coding. */
export function isChunkedRequest(raw: readonly string[]): boolean {
  const codings = headerValues(raw, 'transfer-encoding').flatMap((value) => value.split(','));
  return codings.at(-1)?.trim().toLowerCase() === 'chunked';
}

/**
 * `body` framed for S3 as the client framed it. A chunked body, streamed or already read (DeleteObjects,
 * CompleteMultipartUpload), goes through an object-mode stream that undici cannot measure; errors travel
 * both ways as if undici held the client's stream itself.
 */
export function bodyForUpstream(
  raw: readonly string[],
  body: Readable | Buffer | null,
): Readable | Buffer | null {
  if (body === null || !isChunkedRequest(raw)) return body;
  if (Buffer.isBuffer(body)) return Readable.from([body]);
  const framed = new PassThrough({ readableObjectMode: true });
  pipeline(body, framed, () => {});
  return framed;
}
