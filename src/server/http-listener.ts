// The :80 listener: HTTP/1.1, origin-form and absolute-form requests, keep-alive. Requests that never
// become a request (malformed, headers too large or too slow) get an S3-shaped answer on the raw socket.

import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { newRequestId } from '../cache/exchange/reply.js';
import type { KuraConfig } from '../config/schema.js';
import {
  badRequest,
  headersTooLarge,
  invalidUri,
  methodNotAllowed,
  renderS3Error,
  requestTimeout,
} from '../s3/errors.js';
import type { S3ErrorSpec } from '../s3/types.js';
import type { Logger } from '../telemetry/log.js';

export type Handler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Told of a request answered here because it never became one, with the bytes of that answer. */
  refused?: (socket: Socket, error: S3ErrorSpec, bytesOut: number) => void;
};

export function createHttpListener(config: KuraConfig['server'], handler: Handler, log: Logger): Server {
  const server = createServer(listenerOptions(config), handler);
  answerLikeS3(server, handler, log);
  // CONNECT tunnels (HTTPS_PROXY clients) are not served on this port.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    writeRawError(socket, methodNotAllowed('CONNECT'));
  });
  return server;
}

/** Limits and timeouts shared by the :80 and TLS listeners. */
export function listenerOptions(config: KuraConfig['server']) {
  return {
    maxHeaderSize: config.max_header_size,
    headersTimeout: config.header_timeout,
    // 0: a 5 GiB upload over a slow link takes as long as it takes.
    requestTimeout: 0,
    keepAliveTimeout: config.keep_alive_timeout,
    connectionsCheckingInterval: Math.max(250, Math.min(5_000, config.header_timeout / 2)),
    // Kura answers a missing Host itself, S3-shaped.
    requireHostHeader: false,
    noDelay: true,
  };
}

/**
 * `100 Continue` decided by the handler, and requests that never become one answered S3-shaped. Bytes
 * that do not parse may follow valid requests on the same connection (pipelining): those requests are
 * answered first, in order, and the error answer comes after them (RFC 9112 §9.3.2).
 */
export function answerLikeS3(server: net.Server, handler: Handler, log: Logger): void {
  // Without this listener Node answers `100 Continue` at once; with it the handler decides, so a request
  // Kura refuses is answered before the client sends its body, and otherwise S3's own answer to the
  // expectation is relayed (src/upstream/continue-request.ts).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    trackAnswer(req, res);
    handler(req, res);
  });
  server.on('request', trackAnswer);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const error = clientErrorAnswer(err);
    log.debug('client error', { code: err.code, message: err.message, remote: socket.remoteAddress });
    if (error === null) {
      socket.destroy();
      return;
    }
    const answers = unfinished.get(socket) ?? new Set();
    // A request still arriving is the one that broke (a body cut short): it gets the error now.
    const afterAnswers = [...answers].every((res) => res.req.complete);
    void (afterAnswers ? answersDone(answers) : Promise.resolve()).then(() => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const bytes = writeRawError(socket, error);
      // A request the handler already has (its body cut short) gets its access line there.
      if (afterAnswers) handler.refused?.(socket, error, bytes);
    });
  });
}

/** Answers still being written on each connection, in request order. */
const unfinished = new WeakMap<Socket, Set<ServerResponse>>();

function trackAnswer(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  let answers = unfinished.get(socket);
  if (!answers) {
    answers = new Set();
    unfinished.set(socket, answers);
  }
  answers.add(res);
  // 'close' follows 'finish' and also comes when the connection dies first.
  res.once('close', () => answers.delete(res));
}

/** Resolves once every answer in `answers` is finished or abandoned. */
async function answersDone(answers: Set<ServerResponse>): Promise<void> {
  while (answers.size > 0) {
    await Promise.race([...answers].map((res) => new Promise((resolve) => res.once('close', resolve))));
  }
}

/** RFC 9112 parse failures mapped to the answers S3 gives for the same mistakes. */
function clientErrorAnswer(err: NodeJS.ErrnoException): S3ErrorSpec | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_INVALID_URL':
      return invalidUri();
    case 'HPE_HEADER_OVERFLOW':
      return headersTooLarge();
    case 'HPE_INVALID_METHOD': {
      // A method-shaped token S3 does not know is 405; bytes that are not HTTP at all (TLS sent to the
      // plain port, say) are a bad request.
      const method = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}) /.exec(rawPacketText(err))?.[1];
      return method ? methodNotAllowed(method) : badRequest('The request is not HTTP/1.1');
    }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return requestTimeout();
    default:
      return badRequest(`Malformed HTTP request (${err.code ?? 'parse error'})`);
  }
}

function rawPacketText(err: NodeJS.ErrnoException): string {
  const raw = (err as { rawPacket?: Buffer }).rawPacket;
  return raw ? raw.subarray(0, 32).toString('latin1') : '';
}

/** Answers on the raw socket and closes it; returns the bytes of the answer. */
export function writeRawError(socket: Socket, error: S3ErrorSpec): number {
  const body = renderS3Error({ code: error.code, message: error.message, requestId: newRequestId() });
  const answer =
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
    'Content-Type: application/xml\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body;
  socket.end(answer);
  socket.destroySoon();
  return Buffer.byteLength(answer);
}

/** How an operator moves a listener elsewhere, for the error that says it could not listen. */
export interface PortSetting {
  /** The `kura serve` flag, where there is one. */
  flag?: string;
  env: string;
  field: string;
  example: string;
}

export const HTTP_PORT: PortSetting = {
  flag: '--http-port',
  env: 'KURA_HTTP_PORT',
  field: 'server.http_port',
  example: '8000',
};

export async function listen(
  server: net.Server,
  host: string,
  port: number,
  what: string,
  setting: PortSetting = HTTP_PORT,
): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port, what, setting));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

function listenError(
  err: NodeJS.ErrnoException,
  host: string,
  port: number,
  what: string,
  s: PortSetting,
): Error {
  const where = `${what} on ${host}:${port}`;
  if (err.code === 'EACCES') {
    return new Error(
      `cannot listen ${where}: permission denied. Ports below 1024 need root or the capability to bind them: ` +
        'grant it with `sudo setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")"` ' +
        '(or AmbientCapabilities=CAP_NET_BIND_SERVICE in systemd), or choose another port with ' +
        `${s.flag ? `${s.flag} ${s.example} / ` : ''}${s.env}=${s.example} / ${s.field}.`,
    );
  }
  if (err.code === 'EADDRINUSE') return new Error(`cannot listen ${where}: the address is already in use`);
  if (err.code === 'EADDRNOTAVAIL') return new Error(`cannot listen ${where}: no such local address`);
  return new Error(`cannot listen ${where}: ${err.message}`);
}
