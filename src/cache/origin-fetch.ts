// Asking S3 on behalf of a read: the client's own signed request, with at most the unsigned headers
// Rule 1 of docs/architecture.md lets Kura add (a Range the client did not sign, If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since), and relaying S3's answer when it is the client's answer.

import type { S3ErrorSpec } from '../s3/types.js';
import { type UpstreamResponse, upstreamFailure } from '../upstream/client.js';
import { requestHeadersForUpstream, responseHeadersForClient } from '../upstream/headers.js';
import type { Exchange, Outcome, PassOptions } from './pass.js';
import { replyError } from './reply.js';
import { sendBody } from './send-body.js';

export interface HeaderEdits {
  /** Replaces the client's Range; only when `range` is not signed. */
  range?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export type Asked = { ok: true; res: UpstreamResponse } | { ok: false; error: S3ErrorSpec | null };

export async function askS3(ex: Exchange, opts: PassOptions, edits: HeaderEdits = {}): Promise<Asked> {
  const built = requestHeadersForUpstream(ex.req.rawHeaders, ex.s3.signature, opts.identify);
  if (!built.ok) return { ok: false, error: built.error };
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
      body: null,
      signal: ex.signal,
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

/** S3's answer goes to the client as it is, with X-Cache added. */
export async function relay(ex: Exchange, res: UpstreamResponse, xCache: string): Promise<Outcome> {
  const headers = responseHeadersForClient(res.headers);
  headers.push('x-cache', xCache);
  ex.res.writeHead(res.status, res.statusText || undefined, headers);
  try {
    await sendBody(res.body, ex.res);
    return { status: res.status };
  } catch (err) {
    ex.res.destroy();
    return { status: res.status, error: `body: ${(err as Error).message}` };
  }
}

/** The answer when S3 could not be asked: S3-shaped, or nothing when the client is gone. */
export function failed(ex: Exchange, error: S3ErrorSpec | null): Outcome {
  if (error === null || ex.res.headersSent || ex.res.destroyed) {
    ex.res.destroy();
    return { status: 0, error: error?.code ?? 'ClientGone' };
  }
  replyError(ex.res, error, {
    requestId: ex.requestId,
    resource: ex.s3.rawPath,
    head: ex.s3.method === 'HEAD',
  });
  return { status: error.status, error: `${error.code}: ${error.message}` };
}

/** Reads and drops a body Kura does not pass on, so its connection returns to the pool. */
export function discard(res: UpstreamResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}
