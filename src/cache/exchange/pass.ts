// The pass state: forward the client's request to S3 untouched and stream S3's answer back, with
// back-pressure both ways, so memory stays bounded whatever the body size (docs/architecture.md, rule 5).
// The asking and relaying are origin-fetch.ts's, shared with the read states; this adds the request body,
// the hooks writes need around S3's answer, and the bypass a read passed for.

import type { Readable } from 'node:stream';
import { expectsContinue, hasRequestBody } from '../../upstream/headers.js';
import { bodyForUpstream } from '../../upstream/request-body.js';
import type { CacheBypass } from '../stats.js';
import { readAnswerBody } from './answer-body.js';
import type { Exchange, Outcome, PassOptions } from './exchange.js';
import { askS3, failed, relay } from './origin-fetch.js';
import { bypassed, noAnswer } from './outcome.js';
import { replyError } from './reply.js';

export interface PassExtras {
  /** Set on GetObject and HeadObject requests, which the cache could have served: why it did not. */
  bypass?: CacheBypass;
  /**
   * The request body when it is not the client's stream itself: read first (DeleteObjects, for the keys
   * it names), or teed (an upload whose bytes the cache keeps).
   */
  body?: Buffer | Readable;
  /**
   * Runs once S3's answer is known and before the client sees it (invalidation after a write). `body` is
   * S3's answer body when `answerBodyLimit` asked for it and it was no longer than that; else null.
   */
  beforeReply?: (status: number, headers: readonly string[], body: Buffer | null) => Promise<void>;
  /** Read S3's answer body, up to this many bytes, before `beforeReply` (the XML of multipart calls). */
  answerBodyLimit?: number;
}

export async function pass(ex: Exchange, opts: PassOptions, extras: PassExtras = {}): Promise<Outcome> {
  const { req, res, s3 } = ex;
  const cache = extras.bypass === undefined ? undefined : bypassed(extras.bypass);
  const unanswered = noAnswer(cache);
  const withBody = hasRequestBody(req.rawHeaders);
  // The client's `Expect: 100-continue` goes to S3, and S3's `100 Continue` back to the client, which
  // sends its body only then. A body Kura has read already (DeleteObjects, CompleteMultipartUpload:
  // src/cache/write/invalidate.ts) followed Kura's own 100, so the client hears no second one.
  const asked = await askS3(
    ex,
    opts,
    {},
    {
      body: bodyForUpstream(req.rawHeaders, extras.body ?? (withBody ? req : null)),
      expectation: expectsContinue(req.rawHeaders, req.httpVersion),
      onContinue: Buffer.isBuffer(extras.body) ? () => {} : () => res.writeContinue(),
    },
  );
  if (!asked.ok) {
    if (!asked.unsent || asked.error === null) return failed(ex, asked.error, unanswered, withBody);
    // Not forwardable as it is (a header S3 must not see): refused by its code alone.
    const { error } = asked;
    replyError(ex, error, {
      requestId: ex.requestId,
      resource: s3.rawPath,
      head: s3.method === 'HEAD',
      hasBody: withBody,
    });
    return { status: error.status, error: error.code, cache: unanswered };
  }

  const answer = asked.res;
  let body: Readable = answer.body;
  let answerBody: Buffer | null = null;
  if (extras.answerBodyLimit !== undefined) {
    try {
      ({ bytes: answerBody, rest: body } = await readAnswerBody(answer.body, extras.answerBodyLimit));
    } catch (err) {
      res.destroy();
      return { status: answer.status, error: `body: ${(err as Error).message}`, cache: unanswered };
    }
  }
  await extras.beforeReply?.(answer.status, answer.headers, answerBody);
  const traffic = opts.traffic;
  return relay(ex, answer, cache, {
    body,
    // S3 answered before the whole body came in (refused on the head, or mid-upload): the rest cannot be
    // skipped without reading it, so this connection carries no further request (RFC 9112 §9.6).
    close: withBody && !req.complete,
    ...(traffic ? { onBytes: (n: number) => (traffic.passBytesFromS3 += n) } : {}),
  });
}
