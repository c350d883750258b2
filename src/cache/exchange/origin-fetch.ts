// Asking S3 on behalf of a client: the client's own signed request (and its body, when it has one), with
// at most the unsigned headers Rule 1 of docs/architecture.md lets Kura add to a read (a Range the client
// did not sign, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), and relaying S3's answer
// when it is the client's answer. The read states and the pass state (pass.ts) share both.

import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { S3ErrorSpec } from '../../s3/types.js';
import { type UpstreamResponse, upstreamFailure } from '../../upstream/client.js';
import { requestHeadersForUpstream, responseHeadersForClient } from '../../upstream/headers.js';
import type { Exchange, Outcome, PassOptions } from './exchange.js';
import { type CacheOutcome, NO_ANSWER, pushXCache } from './outcome.js';
import { replyError, sendHead } from './reply.js';
import { sendBody } from './send-body.js';

export interface HeaderEdits {
  /** Replaces the client's Range; only when `range` is not signed. */
  range?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** The body a request carries to S3 (the pass state's), and whether the client waits for a `100`. */
export interface Upload {
  body: Readable | Buffer | null;
  expectation: boolean;
  /** Relays S3's `100 Continue` to the client. */
  onContinue: () => void;
}

/**
 * S3's answer, or why there is none: `error` null when the client went away; `unsent` when the request
 * could not be forwarded at all (a header S3 must not see), rather than S3 failing.
 */
export type Asked =
  | { ok: true; res: UpstreamResponse }
  | { ok: false; error: S3ErrorSpec | null; unsent?: true };

export async function askS3(
  ex: Exchange,
  opts: PassOptions,
  edits: HeaderEdits = {},
  upload: Upload | null = null,
  /** Cuts the request: the client's going away, unless the caller cuts it for reasons of its own too. */
  signal: EventEmitter = ex.signal,
): Promise<Asked> {
  const expectation = upload?.expectation ?? false;
  const built = requestHeadersForUpstream(ex.req.rawHeaders, ex.s3.signature, opts.identify, expectation);
  if (!built.ok) return { ok: false, error: built.error, unsent: true };
  let headers = built.headers;
  if (edits.range !== undefined) {
    headers = withoutHeader(headers, 'range');
    headers.push('range', edits.range);
  }
  if (edits.ifMatch !== undefined) headers.push('if-match', edits.ifMatch);
  if (edits.ifNoneMatch !== undefined) headers.push('if-none-match', edits.ifNoneMatch);
  if (edits.ifModifiedSince !== undefined) headers.push('if-modified-since', edits.ifModifiedSince);
  if (edits.ifUnmodifiedSince !== undefined) headers.push('if-unmodified-since', edits.ifUnmodifiedSince);
  const s3 = ex.s3;
  try {
    const res = await opts.upstream.send(ex.route, {
      method: s3.method,
      path: s3.rawQuery === null ? s3.rawPath : `${s3.rawPath}?${s3.rawQuery}`,
      headers,
      body: upload?.body ?? null,
      signal,
      ...(expectation && upload !== null ? { onContinue: upload.onContinue } : {}),
    });
    opts.heard?.(ex, res.status);
    return { ok: true, res };
  } catch (err) {
    return { ok: false, error: upstreamFailure(err, ex.route) };
  }
}

function withoutHeader(headers: string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== lower)
      out.push(headers[i] as string, headers[i + 1] as string);
  }
  return out;
}

export interface RelayOptions {
  /** S3's answer body when part of it was read already (answer-body.ts); else `res.body`. */
  body?: Readable;
  /** Adds `Connection: close`: the client's request body was not all read (pass.ts says why). */
  close?: boolean;
  /** Told the size of each body chunk passed on. */
  onBytes?: (n: number) => void;
}

/** S3's answer goes to the client as it is, with the X-Cache of what the cache did (if anything). */
export async function relay(
  ex: Exchange,
  res: UpstreamResponse,
  cache: CacheOutcome | undefined,
  opts: RelayOptions = {},
): Promise<Outcome> {
  const headers = responseHeadersForClient(res.headers);
  pushXCache(headers, cache);
  if (opts.close) headers.push('Connection', 'close');
  sendHead(ex, res.status, headers, res.statusText);
  try {
    await sendBody(opts.body ?? res.body, ex.res, opts.onBytes);
    return { status: res.status, cache };
  } catch (err) {
    ex.res.destroy();
    return { status: res.status, error: `body: ${(err as Error).message}`, cache };
  }
}

/** A revalidation S3 did not answer: Kura's own error, no X-Cache. */
export const REVALIDATION_FAILED: CacheOutcome = { ...NO_ANSWER, revalidations: ['error'] };

/**
 * The answer when S3 could not be asked: S3-shaped, or nothing when the client is gone. `cache` is what
 * the cache did (NO_ANSWER for a read); `hasBody` when the client's request body may be unread.
 */
export function failed(
  ex: Exchange,
  error: S3ErrorSpec | null,
  cache: CacheOutcome | undefined = NO_ANSWER,
  hasBody = false,
): Outcome {
  if (error === null || ex.res.headersSent || ex.res.destroyed) {
    ex.res.destroy();
    return { status: 0, error: error?.code ?? 'ClientGone', cache };
  }
  replyError(ex, error, {
    requestId: ex.requestId,
    resource: ex.s3.rawPath,
    head: ex.s3.method === 'HEAD',
    hasBody,
  });
  return { status: error.status, error: `${error.code}: ${error.message}`, cache };
}

/** Reads and drops a body Kura does not pass on, so its connection returns to the pool. */
export function discard(res: UpstreamResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}
