// Requests whose client sent `Expect: 100-continue`, forwarded with the expectation so that S3 decides it.
// S3 judges such a request on its head alone (signature, bucket, permissions) and answers either
// `100 Continue` or its final answer before any body byte is sent (RFC 9110 §10.1.1); the client hears
// whichever S3 gives, so an upload S3 refuses costs its client no body bytes, as it does direct.
//
// undici cannot carry this: its HTTP/1.1 client refuses an `expect` header ("expect header not
// supported", node_modules/undici/lib/core/request.js) and takes a 100 answer for a broken response
// (node_modules/undici/lib/dispatcher/client-h1.js). node:http sends the head at once when `Expect` is
// among the headers and reports S3's 100 as a 'continue' event; the body is written only after it. These
// requests are uploads of some size (the AWS SDKs send `Expect` above a threshold), so a second pool costs
// little, and undici keeps every other request.
//
// The same way carries, without waiting, the few requests undici would change otherwise: a
// `Content-Length: 0` on a method undici sends without a body (GET, HEAD, DELETE, OPTIONS), which it
// leaves out (client-h1.js, after RFC 9110 §8.6's "SHOULD NOT"). A client may have signed it: the AWS
// CRT signs `content-length` on DeleteObject, and S3 refuses the request without it.

import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { errors } from 'undici';
import type { UpstreamRequest, UpstreamResponse } from './client.js';
import type { Route } from './route.js';

/**
 * How long S3 may stay silent about the expectation before the body goes anyway: RFC 9110 §10.1.1 lets a
 * client stop waiting, and S3 answers well within it. curl and botocore wait as long.
 */
export const CONTINUE_WAIT_MS = 1_000;

export interface ContinueOptions {
  /** Most connections per origin and way of connecting, as undici's pools. */
  connections: number;
  connectTimeout: number;
  /** From the body's end to S3's response head. */
  firstByteTimeout: number;
  /** Longest silence inside S3's response body. */
  idleTimeout: number;
  /** Kura's own DNS for S3 names (src/upstream/resolver.ts). */
  lookup: LookupFunction;
}

export class ContinueSender {
  readonly #opts: ContinueOptions;
  readonly #agents = new Map<string, http.Agent>();

  constructor(opts: ContinueOptions) {
    this.#opts = opts;
  }

  #agent(route: Route, secure: boolean): http.Agent {
    const name = `${route.via}|${secure}|${route.tlsVerify}`;
    let agent = this.#agents.get(name);
    if (!agent) {
      // Idle connections close after 4 s, as undici's (src/upstream/client.ts): S3 drops them after ~20 s.
      const common = { keepAlive: true, maxSockets: this.#opts.connections, timeout: 4_000 };
      agent = secure
        ? new https.Agent({ ...common, rejectUnauthorized: route.tlsVerify })
        : new http.Agent(common);
      this.#agents.set(name, agent);
    }
    return agent;
  }

  /**
   * Sends the head, then the body once S3 answers `100 Continue` (reported through `req.onContinue`) or
   * after CONTINUE_WAIT_MS of silence. A final answer that comes first is resolved with the body unsent,
   * and the connection is closed once that answer is read: it cannot carry another request. Without
   * `req.onContinue` the request expects nothing and goes whole at once.
   */
  send(route: Route, req: UpstreamRequest): Promise<UpstreamResponse> {
    const url = new URL(route.origin);
    const secure = url.protocol === 'https:';
    const outgoing = (secure ? https : http).request({
      agent: this.#agent(route, secure),
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      method: req.method,
      path: req.path,
      // A flat array is written as given, Host and Content-Length included, and Node adds nothing but
      // `Connection: keep-alive` (and chunked framing when the client framed its body so).
      headers: req.headers,
      ...(route.via === 's3' ? { lookup: this.#opts.lookup } : {}),
    });
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number, run: () => void) => timers.push(setTimeout(run, ms));
    const clear = () => {
      for (const t of timers.splice(0)) clearTimeout(t);
    };
    const fail = (err: Error) => outgoing.destroy(err);
    let state: 'waiting' | 'sending' | 'answered' = 'waiting';
    const sendBody = () => {
      if (state !== 'waiting') return;
      state = 'sending';
      clear();
      req.onContinue?.();
      const body = req.body;
      if (body === null) outgoing.end();
      else if (Buffer.isBuffer(body)) outgoing.end(body);
      else {
        // Not pipeline(): S3 may answer before the body's end, and the client's stream must outlive this
        // request so that Kura can still answer it.
        body.on('error', fail);
        body.pipe(outgoing);
      }
    };
    outgoing.on('socket', (socket: Socket) => {
      const waitForContinue = () => {
        if (state === 'waiting') after(CONTINUE_WAIT_MS, sendBody);
      };
      if (!socket.connecting) return waitForContinue();
      after(this.#opts.connectTimeout, () => fail(new errors.ConnectTimeoutError()));
      void once(socket, secure ? 'secureConnect' : 'connect').then(
        () => {
          clear();
          if (state === 'waiting') waitForContinue();
        },
        () => {},
      );
    });
    outgoing.on('continue', sendBody);
    let answered = false;
    outgoing.on('finish', () => {
      if (!answered) after(this.#opts.firstByteTimeout, () => fail(new errors.HeadersTimeoutError()));
    });
    const signal = req.signal;
    const abort = () => fail(new errors.RequestAbortedError());
    if (signal instanceof AbortSignal) signal.addEventListener('abort', abort, { once: true });
    else signal.once('abort', abort);
    outgoing.once('close', () => {
      clear();
      if (signal instanceof AbortSignal) signal.removeEventListener('abort', abort);
      else signal.off('abort', abort);
    });

    if (req.onContinue === undefined) sendBody();

    return new Promise<UpstreamResponse>((resolve, reject) => {
      outgoing.on('error', (err) => {
        clear();
        reject(err);
      });
      outgoing.once('response', (res: http.IncomingMessage) => {
        clear();
        answered = true;
        if (state === 'waiting') state = 'answered';
        outgoing.setTimeout(this.#opts.idleTimeout, () => res.destroy(new errors.BodyTimeoutError()));
        res.once('close', () => {
          if (!outgoing.writableFinished) outgoing.destroy();
        });
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.rawHeaders,
          body: res,
        });
      });
    });
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
