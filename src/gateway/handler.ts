// The gateway's request path (docs/gateway.md): find the route, answer CORS preflights, authenticate the
// client by the route's kind, then hand an S3 request of Kura's making to the cache's own states
// (src/cache/read/read-path.ts for reads, put-through.ts and invalidate.ts for writes). That request carries
// no client credentials: the route's signer (signer.ts) signs each upstream request as it leaves.
// Because Kura authorized the client, a fresh hit is served without asking S3 (hit_auth `any`).

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache } from '../cache/cache.js';
import type { Exchange, Outcome, PassOptions } from '../cache/exchange/exchange.js';
import { resultOf, xCacheOf } from '../cache/exchange/outcome.js';
import { newRequestId } from '../cache/exchange/reply.js';
import { readPath } from '../cache/read/read-path.js';
import { writeThrough } from '../cache/write/invalidate.js';
import { putThrough } from '../cache/write/put-through.js';
import { clientFilter } from '../config/access.js';
import type { KuraConfig } from '../config/schema.js';
import {
  accessDenied,
  invalidPath,
  methodNotAllowedOnRoute,
  missingContentLength,
  noSuchKey,
  noSuchRoute,
} from '../s3/errors.js';
import { parseS3Request } from '../s3/request.js';
import type { AccessLog, AccessRecord } from '../telemetry/access-log.js';
import type { Logger } from '../telemetry/log.js';
import type { TrafficStats } from '../telemetry/traffic.js';
import type { UpstreamSender } from '../upstream/client.js';
import { decorate, type Seen } from './answer.js';
import { LINK_SIGNATURE } from './link.js';
import { prefetch } from './prefetch.js';
import { corsHeaders, errorFormat, type GatewayError, replyGatewayError, replyPreflight } from './respond.js';
import { type LiveRoute, RouteTable } from './route-table.js';

export interface GatewayDeps {
  config: KuraConfig;
  cache: Cache;
  upstream: UpstreamSender;
  log: Logger;
  access: AccessLog;
  traffic: TrafficStats;
  /** Runs once per request, after its access-log line is written (metrics, top keys). */
  onEnd?: (record: AccessRecord) => void;
}

/** Client headers a read passes on: the range and the conditionals the cache answers (RFC 9110 §13). */
const READ_HEADERS = [
  'range',
  'if-range',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
];
/** Client headers an upload passes on: what S3 stores with the object, and the body's framing. */
const WRITE_HEADERS = [
  'content-length',
  'content-type',
  'content-md5',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
];

const READ_METHODS: readonly string[] = ['GET', 'HEAD'];
const READ_WRITE_METHODS: readonly string[] = ['GET', 'HEAD', 'PUT', 'DELETE'];

interface Facts {
  route: string | null;
  bucket: string | null;
  key: string | null;
}

export function createGatewayHandler(deps: GatewayDeps) {
  const table = new RouteTable(deps.config.gateway.routes, deps.upstream);
  const allowed = clientFilter(deps.config.server.allow_clients);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = newRequestId();
    const remote = req.socket.remoteAddress ?? '';
    const bytesIn = req.socket.bytesRead;
    const bytesOut = req.socket.bytesWritten;
    deps.traffic.active += 1;
    const clientGone = new EventEmitter();
    const facts: Facts = { route: null, bucket: null, key: null };
    const seen: Seen = { status: null, ttfbMs: null };
    // The access-log line waits for both the outcome and the response's end, whichever comes last: two
    // flags, as in src/cache/request-path.ts, rather than promises joined.
    let outcome: Outcome | null = null;
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone.emit('abort');
      closed = true;
      if (outcome !== null) ended(outcome);
    });
    const settle = (o: Outcome): void => {
      outcome = o;
      if (closed) ended(o);
    };
    const failed = (err: Error): void => {
      deps.log.error('gateway request failed', { requestId, error: err.stack ?? err.message });
      res.destroy();
      settle({ status: 500, error: err.message });
    };
    if (allowed(remote))
      serve(deps, table, req, res, requestId, clientGone, facts, seen, started).then(settle, failed);
    else settle(refuseClient(req, res, requestId));

    function ended(result: Outcome): void {
      deps.traffic.active -= 1;
      deps.traffic.ended(facts.key === null ? 'Other' : 'GatewayRead', resultOf(result.cache));
      const record: AccessRecord = {
        requestId,
        remote,
        method: req.method ?? '',
        host: req.headers.host ?? '',
        path: redactLink(req.url ?? ''),
        operation: operationOf(req.method ?? ''),
        bucket: facts.bucket,
        key: facts.key,
        range: req.headers.range ?? null,
        status: result.status,
        bytesIn: req.socket.bytesRead - bytesIn,
        bytesOut: req.socket.bytesWritten - bytesOut,
        cache: xCacheOf(result.cache),
        ttfbMs: seen.ttfbMs,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        upstream: facts.route,
        userAgent: req.headers['user-agent'] ?? null,
        ...(result.error ? { error: result.error } : {}),
      };
      deps.access.write(record);
      deps.onEnd?.(record);
    }
  };
  /** Each origin's breaker state, for the metrics: 0 closed, 1 half-open, 2 open. */
  const originStates = (): [string, number][] =>
    [...table.breakers.values()].map((b) => [b.origin, STATE_VALUE[b.state]]);
  return Object.assign(handler, { originStates });
}

const STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** `GatewayGet`, `GatewayHead`, …: the access log's operation for a gateway request. */
function operationOf(method: string): string {
  return `Gateway${method.charAt(0)}${method.slice(1).toLowerCase()}`;
}

const SIGNED_LINK = new RegExp(`([?&]${LINK_SIGNATURE}=)[^&]*`);

/** Link signatures are credentials: the access log keeps their expiry, not the signature. */
function redactLink(target: string): string {
  return target.includes(LINK_SIGNATURE) ? target.replace(SIGNED_LINK, '$1REDACTED') : target;
}

/** `server.allow_clients` leaves this client out, on the gateway's ports as on the others. */
function refuseClient(req: IncomingMessage, res: ServerResponse, requestId: string): Outcome {
  const e = accessDenied('This client address is not allowed');
  replyGatewayError(req, res, e, requestId, (req.url ?? '').split('?')[0] ?? '');
  return { status: 403, error: 'client not allowed' };
}

async function serve(
  deps: GatewayDeps,
  table: RouteTable,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  signal: EventEmitter,
  facts: Facts,
  seen: Seen,
  started: number,
): Promise<Outcome> {
  const target = req.url ?? '';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const fail = (e: GatewayError): Outcome => {
    replyGatewayError(req, res, e, requestId, rawPath);
    return { status: e.status, error: e.code };
  };
  if (!rawPath.startsWith('/')) {
    return fail(invalidPath('The request target is not a path'));
  }
  const hostname = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const live = table.match(hostname, rawPath);
  if (live === null) {
    return fail(noSuchRoute());
  }
  const route = live.config;
  facts.route = route.name;
  const methods = route.access === 'read-write' ? READ_WRITE_METHODS : READ_METHODS;
  const method = req.method ?? '';
  if (method === 'OPTIONS') {
    replyPreflight(req, res, route.cors, methods, requestId);
    return { status: res.statusCode };
  }
  const decoration = {
    extra: corsHeaders(route.cors, req),
    sniff: method === 'GET',
    object: null as string | null,
    started,
    errors: errorFormat(req.headers.accept),
    resource: rawPath,
  };
  decorate(res, decoration, seen);
  if (!methods.includes(method)) {
    res.setHeader('allow', methods.join(', '));
    return fail(methodNotAllowedOnRoute(method));
  }
  let relative: string;
  try {
    relative = decodeURIComponent(rawPath.slice(route.prefix.length));
  } catch {
    return fail(invalidPath('The path is not valid percent-encoded UTF-8'));
  }
  if (relative === '') {
    return fail(noSuchKey('The gateway serves objects, not listings'));
  }
  const verdict = await live.authenticate({ method, path: rawPath, query, req });
  if (!verdict.ok) return fail(verdict);
  if (verdict.prefixes !== null && !verdict.prefixes.some((p) => relative.startsWith(p))) {
    return fail(accessDenied('The token does not cover this key'));
  }
  const key = route.keyPrefix + relative;
  facts.bucket = route.bucket;
  facts.key = key;
  decoration.object = `${live.target.route.origin} ${route.bucket}/${key}`;
  return forward(
    deps,
    live,
    req,
    res,
    { method, key, requestId, signal, prefetch: isPrefetch(method, query) },
    fail,
  );
}

function isPrefetch(method: string, query: URLSearchParams): boolean {
  return method === 'HEAD' && query.get('prefetch') === '1';
}

interface Ask {
  method: string;
  key: string;
  requestId: string;
  signal: EventEmitter;
  prefetch: boolean;
}

/** Kura's own S3 request for the client's, through the cache's states like any S3 client's. */
async function forward(
  deps: GatewayDeps,
  live: LiveRoute,
  req: IncomingMessage,
  res: ServerResponse,
  ask: Ask,
  fail: (e: GatewayError) => Outcome,
): Promise<Outcome> {
  const { target } = live;
  const path = target.pathOf(ask.key);
  const headers = ['Host', target.host];
  const write = ask.method === 'PUT';
  for (const name of write ? WRITE_HEADERS : READ_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.push(name, value);
  }
  if (write && req.headers['content-length'] === undefined) {
    return fail(missingContentLength());
  }
  const parsed = parseS3Request({ method: ask.method, target: path, headers });
  if (!parsed.ok) return fail(parsed.error);
  const ex: Exchange = {
    req: requestView(req, headers),
    res,
    s3: parsed.request,
    route: target.route,
    requestId: ask.requestId,
    signal: ask.signal,
    hitAuth: 'any',
  };
  const opts: PassOptions = {
    upstream: live.sender,
    identify: deps.config.upstream.identify,
    traffic: deps.traffic,
  };
  const { cache } = deps;
  if (ask.method === 'PUT') return putThrough(ex, opts, cache);
  if (ask.method === 'DELETE') return writeThrough(ex, opts, cache);
  if (ask.prefetch) prefetch(deps, ex, opts, path, target.host);
  // A failing cache passes the request to S3 (read-path.ts): the request does not fail with it.
  return readPath(ex, opts, cache);
}

/**
 * The client's request as the cache's states see it: the client's connection and body, with the headers
 * of Kura's S3 request in place of the client's own (which may hold its token or cookies).
 */
function requestView(req: IncomingMessage, rawHeaders: string[]): IncomingMessage {
  return new Proxy(req, {
    get(target, prop) {
      if (prop === 'rawHeaders') return rawHeaders;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
