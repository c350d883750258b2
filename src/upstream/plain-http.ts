// Reads from plain-HTTP origins (overrides such as Ceph or MinIO on a private network) on Kura's own
// keep-alive HTTP/1.1 connections. A body is read straight into buffers laid on the chunk grid
// (net.Socket's `onread`): each cell of the object arrives in one buffer of its own, which the fill sends,
// commits and keeps in the RAM tier without a copy, and no buffer is made per socket read. Through undici
// the same body costs a buffer per read, a copy into its parser and a stream event per piece, several
// times the CPU per GiB (docs/forwarding.md). undici keeps TLS origins (S3 itself), whose sockets cannot
// read into a given buffer, and every request with a body.

import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { errors } from 'undici';
import { ChunkedDecoder } from './chunked-decoder.js';
import type { UpstreamRequest, UpstreamResponse } from './client.js';
import {
  bodyOffset,
  hasResponseBody,
  MAX_HEAD_BYTES,
  MalformedResponseError,
  parseResponseHead,
  type ResponseHead,
} from './response-head.js';

export interface PlainHttpOptions {
  connectTimeout: number;
  /** From the request's head sent to the response's head. */
  firstByteTimeout: number;
  /** Longest silence inside a response body. */
  idleTimeout: number;
  /** The chunk grid: body buffers end on its boundaries. */
  cellSize: number;
  /**
   * Where buffers of whole cells come from (src/store/buffer-pool.ts). The reader of the body owns each:
   * whoever consumes the view that ends one gives back its reference (`releaseAtEnd`).
   */
  cells?: { take(length: number): Buffer };
}

/** Idle connections close after 4 s, as undici's (src/upstream/client.ts): origins drop them later. */
const KEEP_ALIVE_MS = 4_000;
/** Buffers for bodies of unknown length (framed by the connection's close), and for chunked ones. */
const SCRATCH_BYTES = 64 * 1024;

export class PlainHttpPool {
  readonly #opts: PlainHttpOptions;
  readonly #idle = new Map<string, Connection[]>();
  readonly #open = new Set<Connection>();

  constructor(opts: PlainHttpOptions) {
    this.#opts = opts;
  }

  /** Sends `req` (no body) to `origin` (`http://host:port`); resolves with the response head. */
  request(origin: string, req: UpstreamRequest): Promise<UpstreamResponse> {
    const conn = this.#idle.get(origin)?.pop() ?? this.#connect(origin);
    return conn.exchange(req);
  }

  #connect(origin: string): Connection {
    const url = new URL(origin);
    const conn = new Connection(
      url.hostname.replace(/^\[(.*)\]$/, '$1'),
      url.port === '' ? 80 : Number(url.port),
      this.#opts,
      {
        idle: () => {
          const list = this.#idle.get(origin) ?? [];
          list.push(conn);
          this.#idle.set(origin, list);
        },
        gone: () => {
          this.#open.delete(conn);
          const list = this.#idle.get(origin);
          const at = list?.indexOf(conn) ?? -1;
          if (list && at >= 0) list.splice(at, 1);
          if (list?.length === 0) this.#idle.delete(origin);
        },
      },
    );
    this.#open.add(conn);
    return conn;
  }

  close(): void {
    for (const conn of this.#open) conn.destroy();
    this.#open.clear();
    this.#idle.clear();
  }
}

interface Hooks {
  /** The connection may carry another request. */
  idle: () => void;
  /** The connection is closed. */
  gone: () => void;
}

/** One request at a time; its state says what the next bytes from the origin are. */
class Connection {
  readonly #socket: Socket;
  readonly #opts: PlainHttpOptions;
  readonly #hooks: Hooks;
  #state: 'connecting' | 'idle' | 'head' | 'body' | 'closed' = 'connecting';
  /** The response head as it arrives; grown up to MAX_HEAD_BYTES. */
  #head = Buffer.allocUnsafe(4096);
  #headLength = 0;
  #timer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  // The exchange under way.
  #method = '';
  #resolve: ((res: UpstreamResponse) => void) | null = null;
  #reject: ((err: Error) => void) | null = null;
  #unlisten: () => void = () => {};
  #body: Readable | null = null;
  #framing: ResponseHead['body'] = { kind: 'close' };
  #keepAlive = false;
  /** Body bytes still to come (length framing), the object offset of the next, and the buffer read into. */
  #left = 0;
  #offset = 0;
  #buffer: Buffer | null = null;
  #filled = 0;
  #chunked: ChunkedDecoder | null = null;
  #paused = false;

  constructor(host: string, port: number, opts: PlainHttpOptions, hooks: Hooks) {
    this.#opts = opts;
    this.#hooks = hooks;
    this.#socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: () => this.#readInto(),
        callback: (n: number, buf: Uint8Array) => this.#read(n, buf),
      },
    });
    this.#timer = setTimeout(() => this.#fail(new errors.ConnectTimeoutError()), opts.connectTimeout);
    this.#socket.once('connect', () => {
      this.#clearTimer();
      if (this.#state === 'head') this.#startFirstByteTimer();
    });
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('end', () => this.#ended());
    this.#socket.on('close', () => this.#fail(socketError('the origin closed the connection')));
    this.#socket.on('timeout', () => this.#fail(new errors.BodyTimeoutError()));
  }

  exchange(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const connecting = this.#state === 'connecting';
    this.#state = 'head';
    this.#method = req.method;
    this.#headLength = 0;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < req.headers.length; i += 2)
      head += `${req.headers[i]}: ${req.headers[i + 1]}\r\n`;
    this.#socket.write(`${head}\r\n`, 'latin1');
    if (!connecting) this.#startFirstByteTimer();
    const signal = req.signal;
    const abort = () => this.#fail(new errors.RequestAbortedError());
    if (signal instanceof AbortSignal) {
      if (signal.aborted) queueMicrotask(abort);
      signal.addEventListener('abort', abort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', abort);
    } else {
      signal.once('abort', abort);
      this.#unlisten = () => signal.off('abort', abort);
    }
    return new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  destroy(): void {
    this.#fail(socketError('the pool was closed'));
  }

  #startFirstByteTimer(): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => this.#fail(new errors.HeadersTimeoutError()), this.#opts.firstByteTimeout);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Where the next read lands: a body read goes into the current cell's buffer, anything else to the head. */
  #readInto(): Uint8Array {
    if (this.#state === 'body' && this.#framing.kind !== 'chunked')
      return this.#room().subarray(this.#filled);
    if (this.#headLength === this.#head.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#head.length * 4, MAX_HEAD_BYTES));
      this.#head.copy(grown, 0, 0, this.#headLength);
      this.#head = grown;
    }
    return this.#head.subarray(this.#headLength);
  }

  /**
   * The buffer the next body bytes go to: the current one while it has room, else a new one from the next
   * byte's offset to its cell's end (or the body's, if sooner).
   */
  #room(): Buffer {
    if (this.#buffer !== null && this.#filled < this.#buffer.length) return this.#buffer;
    const cell = this.#opts.cellSize;
    const toCellEnd = cell - (this.#offset % cell);
    const size =
      this.#framing.kind === 'length' ? Math.min(toCellEnd, this.#left) : Math.min(toCellEnd, SCRATCH_BYTES);
    const whole = size === cell && this.#framing.kind === 'length' && this.#opts.cells !== undefined;
    this.#buffer = whole
      ? (this.#opts.cells as { take(length: number): Buffer }).take(size)
      : Buffer.allocUnsafeSlow(size);
    this.#filled = 0;
    return this.#buffer;
  }

  /** onread's callback: false pauses the socket until the body's reader wants more. */
  #read(n: number, buf: Uint8Array): boolean {
    try {
      if (this.#state === 'body' && this.#framing.kind !== 'chunked') return this.#bodyRead(n);
      if (this.#state === 'head') {
        this.#headLength += n;
        return this.#headRead();
      }
      if (this.#state === 'body') return this.#chunkedRead(Buffer.from(buf.buffer, buf.byteOffset, n));
      // Bytes nobody asked for: the connection cannot be trusted with another request.
      if (n > 0) this.#fail(socketError('the origin sent bytes between answers'));
    } catch (err) {
      this.#fail(err as Error);
    }
    return false;
  }

  #headRead(): boolean {
    let head = parseResponseHead(this.#head, this.#headLength);
    // Interim answers (1xx) come before the real one; this path never asks for them, so they are skipped.
    while (head !== null && head.status >= 100 && head.status < 200) {
      if (head.status === 101) throw new MalformedResponseError('unexpected protocol switch');
      this.#head.copy(this.#head, 0, head.headBytes, this.#headLength);
      this.#headLength -= head.headBytes;
      head = parseResponseHead(this.#head, this.#headLength);
    }
    if (head === null) return true;
    this.#clearTimer();
    const rest = this.#head.subarray(head.headBytes, this.#headLength);
    this.#headLength = 0;
    this.#framing = hasResponseBody(this.#method, head.status) ? head.body : { kind: 'length', length: 0 };
    // A body framed by the close ends the connection with it.
    this.#keepAlive = !head.close && this.#framing.kind !== 'close';
    this.#left = this.#framing.kind === 'length' ? this.#framing.length : Number.POSITIVE_INFINITY;
    this.#offset = bodyOffset(head.status, head.headers);
    this.#buffer = null;
    this.#chunked = this.#framing.kind === 'chunked' ? new ChunkedDecoder() : null;
    const body = new Readable({
      highWaterMark: this.#opts.cellSize,
      read: () => this.#resume(),
      destroy: (err, done) => {
        // A body nobody reads to its end leaves bytes on the connection: it cannot carry another request.
        if (this.#body === body) this.#fail(err ?? socketError('the answer was not read to its end'));
        done(err);
      },
    });
    this.#body = body;
    this.#state = 'body';
    this.#socket.setTimeout(this.#opts.idleTimeout);
    const resolve = this.#resolve;
    this.#resolve = null;
    this.#reject = null;
    resolve?.({ status: head.status, statusText: head.statusText, headers: head.headers, body });
    if (this.#framing.kind === 'chunked') return this.#chunkedRead(Buffer.from(rest));
    // Body bytes that came with the head: copied into the body's buffers (once per answer, at most a read).
    let more = true;
    let at = 0;
    while (at < rest.length && this.#state === 'body') {
      const buffer = this.#room();
      const n = Math.min(rest.length - at, buffer.length - this.#filled);
      rest.copy(buffer, this.#filled, at, at + n);
      at += n;
      more = this.#bodyRead(n);
    }
    if (at < rest.length) this.#fail(socketError('the origin sent more than the answer'));
    else if (this.#state === 'body' && this.#left === 0) this.#finish();
    return more;
  }

  #bodyRead(n: number): boolean {
    if (n === 0) return true;
    const buffer = this.#buffer as Buffer;
    const piece = buffer.subarray(this.#filled, this.#filled + n);
    this.#filled += n;
    this.#offset += n;
    this.#left -= n;
    const more = (this.#body as Readable).push(piece);
    if (this.#left === 0) {
      this.#finish();
      return true;
    }
    if (!more) this.#pause();
    return more;
  }

  #chunkedRead(bytes: Buffer): boolean {
    const decoder = this.#chunked as ChunkedDecoder;
    const { data, used } = decoder.push(bytes);
    let more = true;
    for (const piece of data) more = (this.#body as Readable).push(piece) && more;
    if (decoder.done) {
      if (used < bytes.length) this.#keepAlive = false;
      this.#finish();
      return true;
    }
    if (!more) this.#pause();
    return more;
  }

  /** The body's reader has enough for now; the origin's silence meanwhile is the reader's doing. */
  #pause(): void {
    this.#paused = true;
    this.#socket.setTimeout(0);
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state === 'body') this.#socket.setTimeout(this.#opts.idleTimeout);
    this.#socket.resume();
  }

  /** The answer's last byte arrived. */
  #finish(): void {
    const body = this.#body as Readable;
    this.#body = null;
    this.#buffer = null;
    this.#chunked = null;
    this.#unlisten();
    this.#socket.setTimeout(0);
    body.push(null);
    if (!this.#keepAlive) {
      this.#close();
      return;
    }
    this.#state = 'idle';
    if (this.#paused) this.#resume();
    this.#idleTimer = setTimeout(() => this.#close(), KEEP_ALIVE_MS);
    this.#idleTimer.unref();
    this.#hooks.idle();
  }

  /** The origin's EOF: the end of a body framed by the close; anything else is cut short. */
  #ended(): void {
    if (this.#state === 'body' && this.#framing.kind === 'close') {
      this.#keepAlive = false;
      this.#finish();
    } else {
      this.#fail(socketError('the origin closed the connection'));
    }
  }

  #close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#clearTimer();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#socket.destroy();
    this.#hooks.gone();
  }

  /** Ends the exchange with `err`: the request is rejected, or its body errors; the connection closes. */
  #fail(err: Error): void {
    if (this.#state === 'closed') return;
    const reject = this.#reject;
    const body = this.#body;
    this.#reject = null;
    this.#resolve = null;
    this.#body = null;
    this.#unlisten();
    this.#close();
    reject?.(err);
    if (body && !body.destroyed) body.destroy(err);
  }
}

function socketError(message: string): Error {
  return Object.assign(new errors.SocketError(message), { code: 'UND_ERR_SOCKET' });
}
