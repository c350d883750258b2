// The pass state: forward the client's request to S3 untouched and stream S3's answer back, with
// back-pressure both ways, so memory stays bounded whatever the body size (docs/architecture.md, rule 5).

import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HitAuth } from '../config/access.js';
import type { S3Request } from '../s3/types.js';
import { type UpstreamClient, type UpstreamSender, upstreamFailure } from '../upstream/client.js';
import {
  expectsContinue,
  hasRequestBody,
  requestHeadersForUpstream,
  responseHeadersForClient,
} from '../upstream/headers.js';
import { bodyForUpstream } from '../upstream/request-body.js';
import type { Route } from '../upstream/route.js';
import { readAnswerBody } from './answer-body.js';
import { replyError } from './reply.js';
import { sendBody } from './send-body.js';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  s3: S3Request;
  route: Route;
  requestId: string;
  /** Emits 'abort' when the client goes away, which aborts the upstream request with it. */
  signal: EventEmitter;
  /**
   * Set by a caller that authorized the client itself (the gateway, which signs for its routes): who may
   * read a fresh hit, in place of the rule's hit_auth.
   */
  hitAuth?: HitAuth;
}

export interface PassOptions {
  /** The upstream client, or one that signs each request first (the gateway's, src/gateway/). */
  upstream: UpstreamSender;
  identify: { name: string; value: string } | null;
  /** Counts the body bytes of S3 answers passed on. */
  traffic?: { passBytesFromS3: number };
  /** Told the status of every answer S3 gives (the hit authorization memo learns from them). */
  heard?: (ex: Exchange, status: number) => void;
}

/** What happened, for the access log: `error` names why the exchange did not complete normally. */
export interface Outcome {
  status: number;
  error?: string;
}

export interface PassExtras {
  /** Set on GetObject and HeadObject answers, which the cache could have served. */
  xCache?: 'BYPASS';
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
  const { xCache } = extras;
  const { req, res, s3 } = ex;
  const withBody = hasRequestBody(req.rawHeaders);
  const reply = {
    requestId: ex.requestId,
    resource: s3.rawPath,
    head: s3.method === 'HEAD',
    hasBody: withBody,
  };
  // The client's `Expect: 100-continue` goes to S3, and S3's `100 Continue` back to the client, which
  // sends its body only then. A body Kura has read already (DeleteObjects, CompleteMultipartUpload:
  // src/cache/invalidate.ts) followed Kura's own 100, so the client hears no second one.
  const expectation = expectsContinue(req.rawHeaders, req.httpVersion);
  const relayContinue = Buffer.isBuffer(extras.body) ? () => {} : () => res.writeContinue();
  const headers = requestHeadersForUpstream(req.rawHeaders, s3.signature, opts.identify, expectation);
  if (!headers.ok) {
    replyError(res, headers.error, reply);
    return { status: headers.error.status, error: headers.error.code };
  }

  let upstreamRes: Awaited<ReturnType<UpstreamClient['send']>>;
  try {
    upstreamRes = await opts.upstream.send(ex.route, {
      method: s3.method,
      path: s3.rawQuery === null ? s3.rawPath : `${s3.rawPath}?${s3.rawQuery}`,
      headers: headers.headers,
      body: bodyForUpstream(req.rawHeaders, extras.body ?? (withBody ? req : null)),
      signal: ex.signal,
      ...(expectation ? { onContinue: relayContinue } : {}),
    });
  } catch (err) {
    const failure = upstreamFailure(err, ex.route);
    if (!failure || res.headersSent || res.destroyed) {
      res.destroy();
      return { status: 0, error: failure?.code ?? 'ClientGone' };
    }
    replyError(res, failure, reply);
    return { status: failure.status, error: `${failure.code}: ${failure.message}` };
  }

  opts.heard?.(ex, upstreamRes.status);
  let body: Readable = upstreamRes.body;
  let answerBody: Buffer | null = null;
  if (extras.answerBodyLimit !== undefined) {
    try {
      ({ bytes: answerBody, rest: body } = await readAnswerBody(upstreamRes.body, extras.answerBodyLimit));
    } catch (err) {
      res.destroy();
      return { status: upstreamRes.status, error: `body: ${(err as Error).message}` };
    }
  }
  await extras.beforeReply?.(upstreamRes.status, upstreamRes.headers, answerBody);
  const responseHeaders = responseHeadersForClient(upstreamRes.headers);
  if (xCache) responseHeaders.push('x-cache', xCache);
  // S3 answered before the whole body came in (refused on the head, or mid-upload): the rest cannot be
  // skipped without reading it, so this connection carries no further request (RFC 9112 §9.6).
  if (withBody && !req.complete) responseHeaders.push('Connection', 'close');
  res.writeHead(upstreamRes.status, upstreamRes.statusText || undefined, responseHeaders);
  try {
    const traffic = opts.traffic;
    await sendBody(body, res, traffic ? (n) => (traffic.passBytesFromS3 += n) : undefined);
    return { status: upstreamRes.status };
  } catch (err) {
    // Headers are sent: the only honest signal left is a broken connection, never a short 200.
    res.destroy();
    return { status: upstreamRes.status, error: `body: ${(err as Error).message}` };
  }
}
