// The gateway's own answers. S3 clients read S3-shaped XML errors; browsers and apps ask, by `Accept`,
// for JSON or plain text. CORS headers go on every answer of a route that declares CORS, for the origins
// it lists, and preflight requests are answered here without authentication (browsers send none).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayCors } from '../config/gateway.js';
import { corsForbidden, renderS3Error } from '../s3/errors.js';

export interface GatewayError {
  status: number;
  code: string;
  message: string;
  /** `WWW-Authenticate` of a 401. */
  challenge?: string;
}

export type ErrorFormat = 'xml' | 'json' | 'text';

/** JSON or text only when asked for by name: an S3 SDK sends any-type or nothing, and reads XML. */
export function errorFormat(accept: string | undefined): ErrorFormat {
  const a = (accept ?? '').toLowerCase();
  if (a.includes('application/json')) return 'json';
  if (a.includes('text/html') || a.includes('text/plain')) return 'text';
  return 'xml';
}

export function renderError(
  format: ErrorFormat,
  e: GatewayError,
  requestId: string,
  resource: string,
): { type: string; body: Buffer } {
  if (format === 'json') {
    const body = { error: { code: e.code, message: e.message, requestId, resource } };
    return { type: 'application/json', body: Buffer.from(JSON.stringify(body)) };
  }
  if (format === 'text') {
    return { type: 'text/plain; charset=utf-8', body: Buffer.from(`${e.status} ${e.code}: ${e.message}\n`) };
  }
  return {
    type: 'application/xml',
    body: Buffer.from(renderS3Error({ code: e.code, message: e.message, requestId, resource })),
  };
}

export function replyGatewayError(
  req: IncomingMessage,
  res: ServerResponse,
  e: GatewayError,
  requestId: string,
  resource: string,
): void {
  const { type, body } = renderError(errorFormat(req.headers.accept), e, requestId, resource);
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': body.length,
    'x-amz-request-id': requestId,
  };
  if (e.challenge) headers['www-authenticate'] = e.challenge;
  // A body the client is still sending (a refused upload) is not worth reading to keep the connection.
  if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0' && !req.complete) {
    headers.connection = 'close';
  }
  res.writeHead(e.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Headers a browser script may read from a cross-origin answer (Fetch §3.2.6). */
const EXPOSED = 'ETag, Content-Length, Content-Range, Content-Type, Accept-Ranges, Last-Modified, X-Cache';
/** Request headers a preflight may announce: what the gateway reads. */
const ALLOWED_HEADERS = new Set([
  'authorization',
  'range',
  'if-none-match',
  'if-modified-since',
  'content-type',
]);

/** The origin to echo, or null when the route's CORS does not cover this request's Origin. */
function allowedOrigin(cors: GatewayCors, origin: string | undefined): string | null {
  if (origin === undefined) return null;
  if (cors.origins.includes('*')) return '*';
  return cors.origins.includes(origin) ? origin : null;
}

/** CORS headers for an actual (not preflight) request's answer, as a flat list. */
export function corsHeaders(cors: GatewayCors | null, req: IncomingMessage): string[] {
  if (cors === null) return [];
  // A `*` route's answer does not depend on the Origin, so every answer carries the same headers: a
  // browser that cached the answer to a load without CORS (an <img>) serves that copy, while it is
  // fresh, to a cross-origin fetch of the same URL, which fails without them. Chromium does so even when
  // the two start at once: the fetch waits for the image's cache entry (docs/gateway.md, Errors and CORS).
  if (cors.origins.includes('*')) {
    return ['access-control-allow-origin', '*', 'access-control-expose-headers', EXPOSED];
  }
  const origin = allowedOrigin(cors, req.headers.origin);
  // Listed origins: the answer varies with the Origin, and says so to every cache, so that a browser
  // asks again for a fetch rather than reuse an <img>'s answer.
  if (origin === null) return ['vary', 'Origin'];
  return ['access-control-allow-origin', origin, 'access-control-expose-headers', EXPOSED, 'vary', 'Origin'];
}

/** Answers an OPTIONS preflight (Fetch §4.8): 204 with what is allowed, or 403 when nothing is. */
export function replyPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  cors: GatewayCors | null,
  methods: readonly string[],
  requestId: string,
): void {
  const origin = cors === null ? null : allowedOrigin(cors, req.headers.origin);
  const method = String(req.headers['access-control-request-method'] ?? '').toUpperCase();
  const asked = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (
    cors === null ||
    origin === null ||
    !methods.includes(method) ||
    !asked.every((h) => ALLOWED_HEADERS.has(h))
  ) {
    const e = corsForbidden();
    replyGatewayError(req, res, e, requestId, req.url ?? '');
    return;
  }
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': methods.join(', '),
    'access-control-max-age': String(cors.maxAgeSeconds),
    'x-amz-request-id': requestId,
  };
  if (asked.length > 0) headers['access-control-allow-headers'] = asked.join(', ');
  if (origin !== '*') headers.vary = 'Origin';
  res.writeHead(204, headers);
  res.end();
}
