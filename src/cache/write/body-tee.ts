// An upload on its way to S3, with a side copy of the object's bytes for the cache. The raw body goes to
// S3 exactly as the client sent it and at the pace S3 takes it; the copy sees the decoded bytes (framing
// removed for aws-chunked bodies) and never slows the upload: when the copy fails, only caching stops.

import type { IncomingMessage } from 'node:http';
import { pipeline, Transform } from 'node:stream';
import { AwsChunkedDecoder, AwsChunkedError, isAwsChunked } from '../../s3/aws-chunked.js';
import { headerValue } from '../../s3/headers.js';

export interface TeeState {
  /** Why the copy stopped (bad framing, a cut body…); null while it is whole. */
  failed: string | null;
  /** Object bytes handed to the copy. */
  copied: number;
  /** The client's body ended normally. */
  ended: boolean;
  /** Set when the framing was aws-chunked and refused. */
  framingError: boolean;
}

export interface BodyTee {
  /** What to send to S3. */
  body: Transform;
  state: TeeState;
}

/**
 * The object's size as the request declares it: `x-amz-decoded-content-length` for aws-chunked bodies,
 * Content-Length otherwise; null when neither says (a chunked transfer of unknown length).
 */
export function declaredObjectSize(raw: readonly string[]): number | null {
  const chunked = isAwsChunked(headerValue(raw, 'content-encoding'));
  const value = headerValue(raw, chunked ? 'x-amz-decoded-content-length' : 'content-length');
  const n = value === undefined || !/^\d{1,16}$/.test(value.trim()) ? Number.NaN : Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

export function teeBody(req: IncomingMessage, objectSize: number, copy: (bytes: Buffer) => void): BodyTee {
  const chunked = isAwsChunked(headerValue(req.rawHeaders, 'content-encoding'));
  const decoder = chunked ? new AwsChunkedDecoder({ decodedLength: objectSize }) : null;
  const state: TeeState = { failed: null, copied: 0, ended: false, framingError: false };
  const stop = (reason: string, framing = false) => {
    state.failed ??= reason;
    state.framingError ||= framing;
  };
  const give = (bytes: Buffer) => {
    state.copied += bytes.length;
    if (state.copied > objectSize) stop(`more than the ${objectSize} bytes declared`);
    else copy(bytes);
  };
  const body = new Transform({
    transform(data: Buffer, _encoding, done) {
      if (state.failed === null) {
        try {
          if (decoder === null) give(data);
          else for (const bytes of decoder.push(data)) give(bytes);
        } catch (err) {
          // Whatever breaks in the copy stops the copy, never the upload.
          const framing = err instanceof AwsChunkedError;
          stop(framing ? `aws-chunked: ${err.message}` : `copy: ${(err as Error).message}`, framing);
        }
      }
      done(null, data);
    },
    flush(done) {
      state.ended = true;
      if (state.failed === null && decoder !== null) {
        try {
          decoder.end();
        } catch (err) {
          stop(`aws-chunked: ${(err as Error).message}`, true);
        }
      }
      if (state.failed === null && state.copied !== objectSize) {
        stop(`${state.copied} bytes of ${objectSize} declared`);
      }
      done();
    },
  });
  // A client that goes away mid-body errors the stream S3 reads, so the upload to S3 is cut too.
  pipeline(req, body, (err) => {
    if (err) stop(`the body was cut: ${err.message}`);
  });
  return { body, state };
}
