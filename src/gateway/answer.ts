// What the gateway changes on the way out of the cache's states (src/cache/): CORS headers added; a
// Content-Type found from the body's first bytes (file-type) when S3 gave none or a generic one, so that
// a browser shows an image it would otherwise download; and S3's XML errors rewritten as JSON or text
// for a client that asked for those. The head waits for the first body chunk only in the first case
// (the chunk is held, never copied, the rest streams as the cache sends it), and for the whole error
// body, a few hundred bytes, in the second.

import http, { type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { fileTypeFromBuffer } from 'file-type';
import { decodeXmlText } from '../s3/delete-objects.js';
import { headerValue } from '../s3/headers.js';
import { type ErrorFormat, renderError } from './respond.js';

/** An error body longer than this is not S3's: it goes on as it is. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** S3's answer for an object stored without a type, and the SDKs' default for uploads. */
const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

export interface Seen {
  status: number | null;
  ttfbMs: number | null;
}

type RawWriteHead = (status: number, ...rest: unknown[]) => ServerResponse;
type RawWrite = (chunk: unknown, ...rest: unknown[]) => boolean;
type RawEnd = (...args: unknown[]) => ServerResponse;

interface DecorateOptions {
  extra: readonly string[];
  sniff: boolean;
  /** The object answered (origin, bucket and key), once the request names one: its type is remembered. */
  object: string | null;
  started: number;
  /** What the client reads errors as (respond.ts, errorFormat). */
  errors: ErrorFormat;
  resource: string;
}

/** Where a decorated response keeps its decoration. */
const DECORATION = Symbol('gateway decoration');
type Decorated = ServerResponse & { [DECORATION]: Decoration };

/**
 * Routes the response's `writeHead`, `write` and `end` through a decoration. They are set to the same
 * three functions on every response, which find the request's decoration on it: a closure of each request
 * set on its response kept the whole request alive through the young generation's collections
 * (bench/README.md, "Where the time goes").
 */
export function decorate(
  res: ServerResponse,
  opts: DecorateOptions,
  /** Filled in as the head goes out. */
  seen: Seen,
): void {
  (res as Decorated)[DECORATION] = new Decoration(res, opts, seen);
  res.writeHead = decoratedWriteHead as ServerResponse['writeHead'];
  res.write = decoratedWrite as ServerResponse['write'];
  res.end = decoratedEnd as ServerResponse['end'];
}

function decoratedWriteHead(this: Decorated, status: number, ...rest: unknown[]): ServerResponse {
  return this[DECORATION].writeHead(status, rest);
}

function decoratedWrite(this: Decorated, chunk: unknown, ...rest: unknown[]): boolean {
  return this[DECORATION].write(chunk, rest);
}

function decoratedEnd(this: Decorated, ...args: unknown[]): ServerResponse {
  return this[DECORATION].end(args);
}

/** ServerResponse's own methods, which the decoration calls once it has decided. */
const RAW = {
  writeHead: http.ServerResponse.prototype.writeHead as RawWriteHead,
  write: http.ServerResponse.prototype.write as RawWrite,
  end: http.ServerResponse.prototype.end as RawEnd,
};

class Decoration {
  readonly #res: ServerResponse;
  readonly #opts: DecorateOptions;
  readonly #seen: Seen;
  #held: {
    status: number;
    statusText: string | undefined;
    headers: string[];
    /** The object version whose first bytes these are, when known: its type is remembered. */
    version: string | null;
  } | null = null;
  #error: {
    status: number;
    statusText: string | undefined;
    headers: string[];
    chunks: Buffer[];
    size: number;
  } | null = null;
  /**
   * The held head on its way (the sniff is asynchronous) and whatever the cache wrote meanwhile: these
   * go out in order after it, never before the head.
   */
  #pending: Promise<void> | null = null;

  constructor(res: ServerResponse, opts: DecorateOptions, seen: Seen) {
    this.#res = res;
    this.#opts = opts;
    this.#seen = seen;
  }

  writeHead(status: number, rest: unknown[]): ServerResponse {
    const res = this.#res;
    const statusText = typeof rest[0] === 'string' ? rest[0] : undefined;
    const given = rest.find((r) => typeof r === 'object' && r !== null) as
      | OutgoingHttpHeaders
      | string[]
      | undefined;
    const headers = flat(given).concat(this.#opts.extra);
    this.#seen.status = status;
    this.#held = null;
    this.#error = null;
    const type = (headerValue(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (
      status >= 400 &&
      this.#opts.errors !== 'xml' &&
      type === 'application/xml' &&
      res.req?.method !== 'HEAD'
    ) {
      this.#error = { status, statusText, headers, chunks: [], size: 0 };
      return res;
    }
    if (this.#opts.sniff && startsAtZero(status, headers) && GENERIC_TYPES.has(type)) {
      const version = versionOf(this.#opts.object, headers);
      const known = version === null ? undefined : sniffed.get(version);
      // A version sniffed before has the same first bytes: its head goes out at once, with no sniff.
      if (known === null) return this.#send(status, statusText, headers);
      if (known !== undefined)
        return this.#send(status, statusText, setValue(headers, 'content-type', known));
      this.#held = { status, statusText, headers, version };
      return res;
    }
    return this.#send(status, statusText, headers);
  }

  write(chunk: unknown, rest: unknown[]): boolean {
    const error = this.#error;
    if (error !== null) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      error.chunks.push(bytes);
      error.size += bytes.length;
      if (error.size > ERROR_BODY_LIMIT) {
        this.#error = null;
        this.#send(error.status, error.statusText, error.headers);
        return RAW.write.call(this.#res, Buffer.concat(error.chunks));
      }
      return true;
    }
    if (this.#held === null && this.#pending === null) return RAW.write.call(this.#res, chunk, ...rest);
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    // The first bytes decide the held head's type; they and all after them go once the head is out.
    if (this.#held !== null) this.#pending = this.#release(bytes);
    this.#queue(() => {
      // The caller was told to wait for 'drain' (false below): tell it when this chunk is written.
      if (RAW.write.call(this.#res, bytes, ...rest)) this.#res.emit('drain');
    });
    return false;
  }

  end(args: unknown[]): ServerResponse {
    const res = this.#res;
    if (this.#error !== null) {
      const chunk = typeof args[0] === 'function' ? null : (args[0] as Buffer | string | null | undefined);
      this.#rewrite(chunk === null || chunk === undefined ? null : Buffer.from(chunk));
      return res;
    }
    if (this.#held === null && this.#pending === null) return RAW.end.call(res, ...args);
    if (this.#held !== null) {
      const chunk = typeof args[0] === 'function' ? null : (args[0] as Buffer | string | null | undefined);
      this.#pending = this.#release(chunk === null || chunk === undefined ? null : Buffer.from(chunk));
    }
    this.#queue(() => RAW.end.call(res, ...args));
    return res;
  }

  #send(status: number, statusText: string | undefined, headers: string[]): ServerResponse {
    this.#seen.ttfbMs = Math.round((performance.now() - this.#opts.started) * 10) / 10;
    return statusText === undefined
      ? RAW.writeHead.call(this.#res, status, headers)
      : RAW.writeHead.call(this.#res, status, statusText, headers);
  }

  /** Sends the held head with the type the first bytes show, if any. */
  async #release(first: Buffer | null): Promise<void> {
    const h = this.#held;
    if (h === null) return;
    this.#held = null;
    const mime = first === null || first.length === 0 ? undefined : (await sniff(first))?.mime;
    if (h.version !== null && first !== null && wholeSample(first, h.status, h.headers)) {
      remember(h.version, mime ?? null);
    }
    const headers = mime === undefined ? h.headers : setValue(h.headers, 'content-type', mime);
    if (!this.#res.destroyed) this.#send(h.status, h.statusText, headers);
  }

  /** S3's XML error as the client asked for it; anything that does not parse goes on as it came. */
  #rewrite(last: Buffer | null): void {
    const e = this.#error;
    if (e === null) return;
    this.#error = null;
    const res = this.#res;
    const xml = Buffer.concat(last === null ? e.chunks : [...e.chunks, last]).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
    if (code === undefined) {
      this.#send(e.status, e.statusText, e.headers);
      RAW.end.call(res, xml);
      return;
    }
    const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
    const requestId = /<RequestId>([^<]*)<\/RequestId>/.exec(xml)?.[1] ?? '';
    const { type, body } = renderError(
      this.#opts.errors,
      { status: e.status, code, message: decodeXmlText(message) },
      requestId,
      this.#opts.resource,
    );
    const headers = setValue(
      setValue(e.headers, 'content-type', type),
      'content-length',
      String(body.length),
    );
    this.#send(e.status, e.statusText, headers);
    RAW.end.call(res, body);
  }

  #queue(run: () => void): void {
    const p = (this.#pending ?? Promise.resolve()).then(() => {
      if (!this.#res.destroyed) run();
    });
    this.#pending = p;
    void p.then(() => {
      if (this.#pending === p) this.#pending = null;
    });
  }
}

/**
 * The most versions whose sniffed types are remembered (oldest forgotten first): 2.2 MiB of heap when full
 * with keys of about a hundred characters (measured).
 */
const SNIFFED_MAX = 10_000;
/** What file-type reads of a file's start for most types (its `reasonableDetectionSizeInBytes`). */
const SNIFF_SAMPLE = 4100;
/** Sniffed types by object version (null: none found), so that a hit need not sniff its bytes again. */
const sniffed = new Map<string, string | null>();

function remember(version: string, mime: string | null): void {
  if (sniffed.size >= SNIFFED_MAX) sniffed.delete(sniffed.keys().next().value as string);
  sniffed.set(version, mime);
}

/** The object and its ETag: a version's bytes, and so its sniffed type, never change. */
function versionOf(object: string | null, headers: readonly string[]): string | null {
  const etag = headerValue(headers, 'etag');
  return object === null || etag === undefined ? null : `${object}\n${etag}`;
}

/**
 * The first bytes sniffed are all a sniff of the whole object would look at: a later answer of the same
 * version finds the same type. A short first piece of a longer body (a slow origin's) is not remembered.
 */
function wholeSample(first: Buffer, status: number, headers: readonly string[]): boolean {
  if (first.length >= SNIFF_SAMPLE) return true;
  return status === 200 && String(first.length) === headerValue(headers, 'content-length');
}

async function sniff(bytes: Buffer) {
  try {
    return await fileTypeFromBuffer(bytes);
  } catch {
    return undefined;
  }
}

/** The body begins at the object's first byte: a 200, or a 206 whose range starts at 0. */
function startsAtZero(status: number, headers: string[]): boolean {
  if (status === 200) return true;
  return status === 206 && /^bytes 0-/.test(headerValue(headers, 'content-range') ?? '');
}

function flat(given: OutgoingHttpHeaders | string[] | undefined): string[] {
  if (given === undefined) return [];
  if (Array.isArray(given)) return given.map(String);
  const out: string[] = [];
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
}

function setValue(headers: readonly string[], lower: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== lower)
      out.push(headers[i] as string, headers[i + 1] as string);
  }
  out.push(lower, value);
  return out;
}
