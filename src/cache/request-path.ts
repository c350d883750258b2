// The life of one request: parse it as S3, choose where it may go, then run the state that serves it.
// Every request ends in exactly one access-log line, and is counted by its outcome (outcome.ts).

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clientFilter } from '../config/access.js';
import type { KuraConfig } from '../config/schema.js';
import { clientRefused, methodNotAllowed, upstreamRefused } from '../s3/errors.js';
import { redactTarget } from '../s3/redact.js';
import { parseS3Request } from '../s3/request.js';
import type { S3ErrorSpec } from '../s3/types.js';
import type { AccessLog, AccessRecord } from '../telemetry/access-log.js';
import type { Logger } from '../telemetry/log.js';
import type { TrafficStats } from '../telemetry/traffic.js';
import type { UpstreamClient } from '../upstream/client.js';
import { hasRequestBody } from '../upstream/headers.js';
import { routeRequest } from '../upstream/route.js';
import { type Cache, namespaceOf } from './cache.js';
import type { Exchange, Outcome, PassOptions } from './exchange/exchange.js';
import { resultOf, xCacheOf } from './exchange/outcome.js';
import { pass } from './exchange/pass.js';
import { type HeadTarget, newRequestId, replyError } from './exchange/reply.js';
import { listPath } from './list/list-path.js';
import { readPath } from './read/read-path.js';
import { changesObjects, writeThrough } from './write/invalidate.js';
import { abortThrough, completeThrough, createThrough, partThrough } from './write/multipart-through.js';
import { putThrough } from './write/put-through.js';

export interface RequestPathDeps {
  config: KuraConfig;
  /** null runs Kura as a plain forwarder. */
  cache: Cache | null;
  upstream: UpstreamClient;
  log: Logger;
  access: AccessLog;
  /** Counts requests, bytes and requests in flight; the metrics read it. */
  traffic: TrafficStats;
  /** Runs once per request, after its access-log line is written (metrics, top keys). */
  onEnd?: (record: AccessRecord) => void;
}

/** Methods S3 answers; anything else is refused here rather than sent on (RFC 9110 §15.5.6). */
const S3_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS']);

/**
 * How many bytes of each connection earlier requests' access records already counted. Node has read a
 * request's head (and maybe some of its body) before the handler runs, so the count of a request starts
 * where the previous one's ended, not at `socket.bytesRead` when it starts. Bytes of a pipelined request
 * read together with the one before it count for that one.
 */
const countedIn = new WeakMap<Socket, number>();

function takeBytesIn(socket: Socket): number {
  const from = countedIn.get(socket) ?? 0;
  countedIn.set(socket, socket.bytesRead);
  return socket.bytesRead - from;
}

export function createRequestHandler(deps: RequestPathDeps) {
  const allowed = clientFilter(deps.config.server.allow_clients);
  const heard = deps.cache === null ? undefined : hearing(deps.cache);
  // The same for every request: made once.
  const opts: PassOptions = {
    upstream: deps.upstream,
    identify: deps.config.upstream.identify,
    traffic: deps.traffic,
    heard,
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = newRequestId();
    const socket = req.socket;
    // Read now: once the connection is gone (a client closing mid-answer) the socket no longer knows it.
    const remote = socket.remoteAddress ?? '';
    const bytesOut = socket.bytesWritten;
    const traffic = deps.traffic;
    traffic.active += 1;
    // Emits 'abort' when the client goes away; undici takes an EventEmitter as its abort signal, which
    // costs less than an AbortController on every request.
    const clientGone = new EventEmitter();
    // The bytes are counted when the answer is ended ('prefinish', before its last bytes even leave; or
    // 'close' for one cut short), not when the outcome settles: a fill settles once its chunks are on the
    // volume, and by then a keep-alive client may have sent its next request, which Node may have read.
    let received = 0;
    let sent = 0;
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      received = takeBytesIn(socket);
      sent = socket.bytesWritten - bytesOut;
    };
    // `on`, not `once`: count runs once anyway, and a listener left on a finished response costs nothing,
    // where removing it costs every hit a new listener table (bench/README.md, "Where the time goes").
    res.on('prefinish', count);
    // The access-log line and the counters wait for both the outcome and the response's end ('close'),
    // whichever comes last; plain flags rather than promises joined (a few promises less per request).
    let outcome: Outcome | null = null;
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone.emit('abort');
      count();
      closed = true;
      if (outcome !== null) ended(outcome);
    });
    const facts: RequestFacts = {
      operation: 'Other',
      upstream: null,
      bucket: null,
      key: null,
      res,
      exchange: null,
    };
    const settle = (o: Outcome): void => {
      outcome = o;
      if (closed) ended(o);
    };
    const failed = (err: Error): void => {
      deps.log.error('request failed', { requestId, error: err.stack ?? err.message });
      res.destroy();
      settle({ status: 500, error: err.message });
    };

    // serve is not async (one promise less per request): a synchronous throw is caught here.
    let serving: Outcome | Promise<Outcome>;
    try {
      serving = allowed(remote)
        ? serve(deps, opts, req, res, requestId, clientGone, facts)
        : refuseClient(req, facts, requestId);
    } catch (err) {
      failed(err as Error);
      return;
    }
    if (serving instanceof Promise) serving.then(settle, failed);
    else settle(serving);

    function ended(result: Outcome): void {
      traffic.active -= 1;
      traffic.clientBytesIn += received;
      traffic.clientBytesOut += sent;
      traffic.ended(facts.operation, resultOf(result.cache));
      const headAt = facts.exchange?.headAt ?? facts.headAt;
      const record = new AccessLine(req.url ?? '', {
        requestId,
        remote,
        method: req.method ?? '',
        host: req.headers.host ?? '',
        operation: facts.operation,
        bucket: facts.bucket,
        key: facts.key,
        range: req.headers.range ?? null,
        status: result.status,
        bytesIn: received,
        bytesOut: sent,
        cache: xCacheOf(result.cache),
        ttfbMs: headAt === undefined ? null : Math.round((headAt - started) * 10) / 10,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        upstream: facts.upstream,
        userAgent: req.headers['user-agent'] ?? null,
        error: result.error || undefined,
      });
      deps.access.write(record);
      deps.onEnd?.(record);
    }
  };
  /** A request refused before it became one (src/server/http-listener.ts): its line in the access log. */
  const refused = (socket: Socket, error: S3ErrorSpec, bytesOut: number): void => {
    deps.access.write({
      requestId: newRequestId(),
      remote: socket.remoteAddress ?? '',
      method: '',
      host: '',
      path: '',
      operation: 'Other',
      status: error.status,
      bytesIn: takeBytesIn(socket),
      bytesOut,
      durationMs: 0,
      upstream: null,
      error: error.code,
    });
  };
  return Object.assign(handler, { refused });
}

/**
 * An access record whose path is the request target, redacted when read, which only a log line does (with
 * the access log off, never). A class, not a getter in the record's object literal: that getter was a new
 * function for every request, and it kept each finished request (the scope it closed over) alive through
 * the young generation's collections until the next full one: about 700 KB copied and promoted at each
 * (bench/README.md, "Where the time goes"). Its fields are set one by one, in the order of a JSON line:
 * copied from a literal onto the instance (`Object.assign`), they cost 1.2% of a small hit's CPU.
 */
class AccessLine implements AccessRecord {
  readonly #target: string;
  requestId: string;
  remote: string;
  method: string;
  host: string;
  operation: string;
  bucket: string | null;
  key: string | null;
  range: string | null;
  status: number;
  bytesIn: number;
  bytesOut: number;
  cache: string | null;
  ttfbMs: number | null;
  durationMs: number;
  upstream: string | null;
  userAgent: string | null;
  /** Undefined when there was none: a JSON line leaves it out. */
  error: string | undefined;

  constructor(target: string, f: AccessFields) {
    this.#target = target;
    this.requestId = f.requestId;
    this.remote = f.remote;
    this.method = f.method;
    this.host = f.host;
    this.operation = f.operation;
    this.bucket = f.bucket;
    this.key = f.key;
    this.range = f.range;
    this.status = f.status;
    this.bytesIn = f.bytesIn;
    this.bytesOut = f.bytesOut;
    this.cache = f.cache;
    this.ttfbMs = f.ttfbMs;
    this.durationMs = f.durationMs;
    this.upstream = f.upstream;
    this.userAgent = f.userAgent;
    this.error = f.error;
  }

  get path(): string {
    return redactTarget(this.#target);
  }
}

type AccessFields = Omit<AccessLine, 'path'>;

/** What the access-log line needs to know of a request, filled in as it is served. */
interface RequestFacts extends HeadTarget {
  operation: string;
  upstream: string | null;
  bucket: string | null;
  key: string | null;
  /** Its exchange once it has one, whose head time counts then. */
  exchange: Exchange | null;
}

/** `server.allow_clients` leaves this client out: refused before anything is parsed or forwarded. */
function refuseClient(req: IncomingMessage, to: HeadTarget, requestId: string): Outcome {
  return { ...refuse(req, to, requestId, clientRefused()), error: 'client not allowed' };
}

/** S3's answers teach the hit authorization memo (hit-auth.ts) who may read what. */
function hearing(cache: Cache): NonNullable<PassOptions['heard']> {
  return (ex, status) => {
    const { s3 } = ex;
    if (s3.bucket === null) return;
    const key = { namespace: namespaceOf(s3, ex.route), bucket: s3.bucket, key: s3.key ?? '' };
    cache.hitAuth.heard(s3, key, status, Date.now());
  };
}

/** Kura's own answer to a request it will not serve: an S3-shaped error. */
function refuse(req: IncomingMessage, to: HeadTarget, requestId: string, error: S3ErrorSpec): Outcome {
  replyError(to, error, {
    requestId,
    resource: (req.url ?? '').split('?')[0],
    head: req.method === 'HEAD',
    hasBody: hasRequestBody(req.rawHeaders),
  });
  return { status: error.status, error: error.code };
}

function serve(
  deps: RequestPathDeps,
  opts: PassOptions,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  signal: EventEmitter,
  facts: RequestFacts,
): Outcome | Promise<Outcome> {
  if (!S3_METHODS.has(req.method ?? '')) {
    return refuse(req, facts, requestId, methodNotAllowed(req.method ?? ''));
  }
  const parsed = parseS3Request({ method: req.method ?? '', target: req.url ?? '', headers: req.rawHeaders });
  if (!parsed.ok) return refuse(req, facts, requestId, parsed.error);
  const s3 = parsed.request;
  facts.operation = s3.operation.name;
  facts.bucket = s3.bucket;
  facts.key = s3.key;
  const route = routeRequest(s3.host, s3.endpoint.kind, deps.config.upstream);
  if (!route.ok) {
    deps.log.debug('refused upstream', { requestId, host: s3.hostHeader, reason: route.reason });
    return refuse(req, facts, requestId, upstreamRefused(s3.host.hostname));
  }
  facts.upstream = route.route.origin;
  // A client that sent `Expect: 100-continue` hears S3's answer to it, relayed by pass (src/cache/exchange/pass.ts):
  // S3 refuses on the head alone, before the body is sent.

  const ex: Exchange = { req, res, s3, route: route.route, requestId, signal, headAt: undefined };
  facts.exchange = ex;
  const cache = deps.cache;
  if (cache === null) return pass(ex, opts);
  const op = s3.operation.name;
  if (op === 'GetObject' || op === 'HeadObject') return readPath(ex, opts, cache);
  switch (op) {
    case 'PutObject':
      return putThrough(ex, opts, cache);
    case 'CreateMultipartUpload':
      return createThrough(ex, opts, cache);
    case 'UploadPart':
      return partThrough(ex, opts, cache);
    case 'CompleteMultipartUpload':
      return completeThrough(ex, opts, cache);
    case 'AbortMultipartUpload':
      return abortThrough(ex, opts, cache);
    case 'ListObjects':
    case 'ListObjectsV2':
      return listPath(ex, opts, cache);
  }
  if (changesObjects(op)) return writeThrough(ex, opts, cache);
  return pass(ex, opts);
}
