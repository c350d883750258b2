// Connections to S3 and to overrides: undici pools with keep-alive, one dispatcher per way of connecting.

import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, errors } from 'undici';
import type { KuraConfig } from '../config/schema.js';
import { badGateway, gatewayTimeout, incompleteBody, slowDown } from '../s3/errors.js';
import { headerValues } from '../s3/headers.js';
import type { S3ErrorSpec } from '../s3/types.js';
import { UpstreamAdmission, UpstreamBusyError } from './admission.js';
import { ContinueSender } from './continue-request.js';
import { type PlainHttpOptions, PlainHttpPool } from './plain-http.js';
import { S3Resolver } from './resolver.js';
import type { Route } from './route.js';

export interface UpstreamRequest {
  method: string;
  /** Raw path and query, exactly as the client sent them. */
  path: string;
  /** Flat `[name, value, …]`, Host included: undici sends it as given instead of its own. */
  headers: string[];
  body: Readable | Buffer | null;
  /** An AbortSignal, or an EventEmitter that emits 'abort' (undici accepts both). */
  signal: AbortSignal | EventEmitter;
  /**
   * Set when `headers` carry the client's `Expect: 100-continue`: the request goes with the expectation
   * (src/upstream/continue-request.ts) and this runs when S3 answers `100 Continue`, or stays silent
   * past CONTINUE_WAIT_MS, just before the body is sent.
   */
  onContinue?: () => void;
}

export interface UpstreamResponse {
  status: number;
  statusText: string;
  /** Flat `[name, value, …]` as S3 sent them. */
  headers: string[];
  body: Readable;
}

/** Methods undici sends a `Content-Length: 0` for (`expectsPayload` in its lib/dispatcher/client-h1.js). */
const UNDICI_PAYLOAD_METHODS = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/**
 * A bodiless request with `Content-Length: 0` on a method undici would send without that header: it goes
 * through node:http instead (src/upstream/continue-request.ts), which writes the headers as given.
 */
function undiciDropsContentLength(req: UpstreamRequest): boolean {
  if (req.body !== null || UNDICI_PAYLOAD_METHODS.has(req.method)) return false;
  return headerValues(req.headers, 'content-length').some((value) => value.trim() === '0');
}

/** Idempotent requests without a body may be sent once more when a pooled connection was already dead. */
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Why a request to S3 failed, as the `kura.upstream.errors` metric tells them apart. */
export type UpstreamErrorKind =
  | 'timeout'
  | 'connect'
  | 'dns'
  | 'reset'
  | 'tls'
  | 'http_5xx'
  | 'busy'
  | 'other';

/** What the cache's states need of an upstream: one request sent, one answer back. */
export interface UpstreamSender {
  send(route: Route, req: UpstreamRequest): Promise<UpstreamResponse>;
}

export class UpstreamClient implements UpstreamSender {
  /** Failed requests by kind; a client that went away is not an upstream error. */
  readonly errors: Record<UpstreamErrorKind, number> = {
    timeout: 0,
    connect: 0,
    dns: 0,
    reset: 0,
    tls: 0,
    http_5xx: 0,
    busy: 0,
    other: 0,
  };
  /** Who may take a connection now: a bounded wait, and a share kept for reads (admission.ts). */
  readonly admission: UpstreamAdmission;
  /** Requests sent whose response body has not ended yet. */
  active = 0;
  readonly #s3: Agent;
  readonly #overrides: Agent;
  readonly #insecure: Agent;
  /** Requests that carry `Expect: 100-continue`, which undici cannot send. */
  readonly #continuing: ContinueSender;
  /** Reads from plain-HTTP origins, into buffers on the chunk grid (plain-http.ts). */
  readonly #plain: PlainHttpPool;
  /** Kura's own DNS for S3 names, shared with the raw TCP relays. */
  readonly resolver: S3Resolver;

  /**
   * `cellSize` is the volume's chunk grid, on which bodies read from plain-HTTP origins are laid, in
   * buffers from `cells` for whole cells.
   */
  constructor(config: KuraConfig['upstream'], cellSize: number, cells?: PlainHttpOptions['cells']) {
    const resolver = new S3Resolver(config.dns_servers);
    this.resolver = resolver;
    this.admission = new UpstreamAdmission({
      connections: config.connections,
      readReserve: config.read_reserve,
      queueTimeoutMs: config.queue_timeout,
    });
    const common = {
      connections: config.connections,
      headersTimeout: config.first_byte_timeout,
      bodyTimeout: config.idle_timeout,
      // S3 closes idle connections after about 20 s; stay well below it.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 15_000,
      // HTTP/1.1 only: the client's request goes on as it was sent (docs/forwarding.md), and HTTP/2 would
      // rewrite its request line and header names. undici 8 offers h2 by ALPN unless told not to
      // (test/e2e/https-override.test.ts has an origin that would pick it).
      allowH2: false,
    };
    const connect = { timeout: config.connect_timeout };
    this.#s3 = new Agent({ ...common, connect: { ...connect, lookup: resolver.lookup } });
    this.#overrides = new Agent({ ...common, connect });
    this.#insecure = new Agent({ ...common, connect: { ...connect, rejectUnauthorized: false } });
    this.#continuing = new ContinueSender({
      connections: config.connections,
      connectTimeout: config.connect_timeout,
      firstByteTimeout: config.first_byte_timeout,
      idleTimeout: config.idle_timeout,
      lookup: resolver.lookup,
    });
    this.#plain = new PlainHttpPool({
      connectTimeout: config.connect_timeout,
      firstByteTimeout: config.first_byte_timeout,
      idleTimeout: config.idle_timeout,
      cellSize,
      ...(cells ? { cells } : {}),
    });
  }

  #dispatcherFor(route: Route): Dispatcher {
    if (route.via === 's3') return this.#s3;
    return route.tlsVerify ? this.#overrides : this.#insecure;
  }

  async send(route: Route, req: UpstreamRequest): Promise<UpstreamResponse> {
    const dispatcher = this.#dispatcherFor(route);
    const attempt = async (): Promise<UpstreamResponse> => {
      if (req.onContinue) return this.#continuing.send(route, req);
      // Kura's own client writes the head as given, Content-Length included.
      if (isPlainRead(route, req)) return this.#plain.request(route.origin, req);
      if (undiciDropsContentLength(req)) return this.#continuing.send(route, req);
      const res = await dispatcher.request({
        origin: route.origin,
        path: req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        responseHeaders: 'raw',
      });
      return {
        status: res.statusCode,
        statusText: (res as { statusText?: string }).statusText ?? '',
        headers: res.headers as unknown as string[],
        body: res.body,
      };
    };
    // One place per request (the pools are per dispatcher and origin), kept across the one retry.
    let release: () => void;
    try {
      release = await this.admission.admit(
        `${route.via}|${route.tlsVerify}|${route.origin}`,
        req.body === null ? 'read' : 'upload',
        req.signal,
      );
    } catch (err) {
      if (err instanceof UpstreamBusyError) this.errors.busy += 1;
      throw err;
    }
    this.active += 1;
    let res: UpstreamResponse;
    try {
      res = await attempt().catch((err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const idempotent = req.body === null && (req.method === 'GET' || req.method === 'HEAD');
        if (idempotent && RETRYABLE_CODES.has(code)) return attempt();
        throw err;
      });
    } catch (err) {
      this.active -= 1;
      release();
      const kind = upstreamErrorKind(err);
      if (kind) this.errors[kind] += 1;
      throw err;
    }
    if (res.status >= 500) this.errors.http_5xx += 1;
    res.body.once('close', () => {
      this.active -= 1;
      release();
    });
    return res;
  }

  /** Requests waiting for a connection now. */
  get waiting(): number {
    return this.admission.waiting;
  }

  async close(): Promise<void> {
    this.#continuing.close();
    this.#plain.close();
    await Promise.all([this.#s3.close(), this.#overrides.close(), this.#insecure.close()]);
  }
}

/** A read without a body from an origin reached over plain TCP. */
function isPlainRead(route: Route, req: UpstreamRequest): boolean {
  return (
    req.body === null && (req.method === 'GET' || req.method === 'HEAD') && route.origin.startsWith('http:')
  );
}

/** The kind of a failed upstream request; null when the request was aborted because the client left. */
export function upstreamErrorKind(err: unknown): UpstreamErrorKind | null {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (err instanceof errors.RequestAbortedError || e.name === 'AbortError') return null;
  if (err instanceof UpstreamBusyError) return 'busy';
  if (err instanceof errors.HeadersTimeoutError || err instanceof errors.ConnectTimeoutError)
    return 'timeout';
  if (err instanceof errors.BodyTimeoutError) return 'timeout';
  const code = e.code ?? e.cause?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ESERVFAIL' || code === 'ENODATA')
    return 'dns';
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'connect';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return 'reset';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED/.test(code)) return 'tls';
  return 'other';
}

/** The S3-shaped answer for a request S3 could not be asked; `null` when the client itself went away. */
export function upstreamFailure(err: unknown, route: Route): S3ErrorSpec | null {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code ?? '';
  if (err instanceof errors.RequestAbortedError || e.name === 'AbortError') return null;
  if (err instanceof UpstreamBusyError) return slowDown();
  if (err instanceof errors.HeadersTimeoutError)
    return gatewayTimeout(`${route.origin} sent no response headers`);
  if (err instanceof errors.ConnectTimeoutError) return gatewayTimeout(`connecting to ${route.origin}`);
  if (err instanceof errors.RequestContentLengthMismatchError) return incompleteBody();
  return badGateway(`${route.origin}: ${code || e.message}`);
}
