// Which headers cross the proxy. Toward S3: every end-to-end header as sent, in order, duplicates kept
// (docs/architecture.md, rule 1); hop-by-hop headers belong to the client's connection and are dropped.

import { notImplemented } from '../s3/errors.js';
import { connectionListed, HOP_BY_HOP, headerValues } from '../s3/headers.js';
import { isHeaderSigned } from '../s3/signature.js';
import type { S3ErrorSpec, SignatureFacts } from '../s3/types.js';

/**
 * Headers undici writes itself or refuses: a client that signed one of them cannot be forwarded
 * untouched, so Kura says so instead of sending a request S3 would reject with a confusing 403.
 * `transfer-encoding: chunked` is the exception: src/upstream/request-body.ts has undici frame the body
 * chunked again, so the header S3 receives is the one the client signed.
 */
const UNDICI_OWNED = new Set(['connection', 'keep-alive', 'upgrade', 'expect', 'transfer-encoding']);

export type ForwardHeaders = { ok: true; headers: string[] } | { ok: false; error: S3ErrorSpec };

/**
 * `forwardExpect`: the request goes with its `Expect: 100-continue` (src/upstream/continue-request.ts), so
 * the header is sent as received. RFC 9110 §10.1.1 has a proxy forward the expectation; only undici,
 * which cannot send it, makes Kura drop it elsewhere.
 */
export function requestHeadersForUpstream(
  raw: readonly string[],
  signature: SignatureFacts,
  identify: { name: string; value: string } | null,
  forwardExpect = false,
): ForwardHeaders {
  const listed = connectionListed(raw);
  const headers: string[] = [];
  let identifyPresent = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === identify?.name) identifyPresent = true;
    const hopByHop = HOP_BY_HOP.has(lower) || listed.has(lower) || (lower === 'expect' && !forwardExpect);
    if (!hopByHop) {
      headers.push(name, value);
      continue;
    }
    // An unreadable signature names no header Kura can trust (src/s3/signature.ts): S3 will judge it, and
    // its hop-by-hop headers belong to this connection as any request's do.
    if (signature.kind === 'unreadable' || !isHeaderSigned(signature, lower)) continue;
    if (lower === 'transfer-encoding' && value.trim().toLowerCase() === 'chunked') continue;
    if (UNDICI_OWNED.has(lower)) {
      const message = `The request signs the connection header ${name}, which a proxy cannot forward unchanged`;
      return { ok: false, error: notImplemented(message) };
    }
    // A signed hop-by-hop header that undici can send: untouched wins over RFC 9110 §7.6.1.
    headers.push(name, value);
  }
  if (identify && !identifyPresent && !isHeaderSigned(signature, identify.name)) {
    headers.push(identify.name, identify.value);
  }
  return { ok: true, headers };
}

/** S3's response headers for the client: all of them but those about S3's connection to Kura. */
export function responseHeadersForClient(raw: readonly string[]): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

/**
 * Whether the client waits for `100 Continue` before it sends its body: an HTTP/1.1 request with a body
 * and `Expect: 100-continue` (RFC 9110 §10.1.1; Node's server answers any other expectation 417 itself).
 */
export function expectsContinue(raw: readonly string[], httpVersion: string): boolean {
  if (httpVersion === '1.0' || !hasRequestBody(raw)) return false;
  return headerValues(raw, 'expect').some((value) => value.trim().toLowerCase() === '100-continue');
}

/** Whether the client sends a body: RFC 9112 §6.3, a body is framed by Content-Length or Transfer-Encoding. */
export function hasRequestBody(raw: readonly string[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (lower === 'transfer-encoding') return true;
    if (lower === 'content-length' && (raw[i + 1] as string).trim() !== '0') return true;
  }
  return false;
}
