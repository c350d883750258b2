// What the gateway changes on the way out of the cache's states (src/cache/): CORS headers added; a
// Content-Type found from the body's first bytes (file-type) when S3 gave none or a generic one, so that
// a browser shows an image it would otherwise download; and S3's XML errors rewritten as JSON or text
// for a client that asked for those. The head waits for the first body chunk only in the first case
// (the chunk is held, never copied, the rest streams as the cache sends it), and for the whole error
// body, a few hundred bytes, in the second.

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
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

export function decorate(
  res: ServerResponse,
  opts: {
    extra: readonly string[];
    sniff: boolean;
    started: number;
    /** What the client reads errors as (respond.ts, errorFormat). */
    errors: ErrorFormat;
    resource: string;
  },
  /** Filled in as the head goes out. */
  seen: Seen,
): void {
  const writeHead = res.writeHead.bind(res) as RawWriteHead;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let held: { status: number; statusText: string | undefined; headers: string[] } | null = null;
  let error: {
    status: number;
    statusText: string | undefined;
    headers: string[];
    chunks: Buffer[];
    size: number;
  } | null = null;

  const send = (status: number, statusText: string | undefined, headers: string[]) => {
    seen.ttfbMs = Math.round((performance.now() - opts.started) * 10) / 10;
    return statusText === undefined ? writeHead(status, headers) : writeHead(status, statusText, headers);
  };

  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const statusText = typeof rest[0] === 'string' ? rest[0] : undefined;
    const given = rest.find((r) => typeof r === 'object' && r !== null) as
      | OutgoingHttpHeaders
      | string[]
      | undefined;
    const headers = flat(given).concat(opts.extra);
    seen.status = status;
    held = null;
    error = null;
    const type = (headerValue(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (status >= 400 && opts.errors !== 'xml' && type === 'application/xml' && res.req?.method !== 'HEAD') {
      error = { status, statusText, headers, chunks: [], size: 0 };
      return res;
    }
    if (opts.sniff && startsAtZero(status, headers) && GENERIC_TYPES.has(type)) {
      held = { status, statusText, headers };
      return res;
    }
    return send(status, statusText, headers);
  }) as ServerResponse['writeHead'];

  /** Sends the held head with the type the first bytes show, if any. */
  const release = async (first: Buffer | null) => {
    const h = held;
    if (h === null) return;
    held = null;
    const mime = first === null || first.length === 0 ? undefined : (await sniff(first))?.mime;
    const headers = mime === undefined ? h.headers : setValue(h.headers, 'content-type', mime);
    if (!res.destroyed) send(h.status, h.statusText, headers);
  };

  /** S3's XML error as the client asked for it; anything that does not parse goes on as it came. */
  const rewrite = (last: Buffer | null) => {
    const e = error;
    if (e === null) return;
    error = null;
    const xml = Buffer.concat(last === null ? e.chunks : [...e.chunks, last]).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
    if (code === undefined) {
      send(e.status, e.statusText, e.headers);
      end(xml);
      return;
    }
    const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
    const requestId = /<RequestId>([^<]*)<\/RequestId>/.exec(xml)?.[1] ?? '';
    const { type, body } = renderError(
      opts.errors,
      { status: e.status, code, message: decodeXmlText(message) },
      requestId,
      opts.resource,
    );
    const headers = setValue(
      setValue(e.headers, 'content-type', type),
      'content-length',
      String(body.length),
    );
    send(e.status, e.statusText, headers);
    end(body);
  };

  /**
   * The held head on its way (the sniff is asynchronous) and whatever the cache wrote meanwhile: these
   * go out in order after it, never before the head.
   */
  let pending: Promise<void> | null = null;
  const queue = (run: () => void) => {
    const p = (pending ?? Promise.resolve()).then(() => {
      if (!res.destroyed) run();
    });
    pending = p;
    void p.then(() => {
      if (pending === p) pending = null;
    });
  };

  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (error !== null) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      error.chunks.push(bytes);
      error.size += bytes.length;
      if (error.size > ERROR_BODY_LIMIT) {
        const e = error;
        error = null;
        send(e.status, e.statusText, e.headers);
        return write(Buffer.concat(e.chunks));
      }
      return true;
    }
    if (held === null && pending === null) return write(chunk, ...rest);
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    // The first bytes decide the held head's type; they and all after them go once the head is out.
    if (held !== null) pending = release(bytes);
    queue(() => {
      // The caller was told to wait for 'drain' (false below): tell it when this chunk is written.
      if (write(bytes, ...rest)) res.emit('drain');
    });
    return false;
  }) as ServerResponse['write'];

  res.end = ((...args: unknown[]) => {
    if (error !== null) {
      const chunk = typeof args[0] === 'function' ? null : (args[0] as Buffer | string | null | undefined);
      rewrite(chunk === null || chunk === undefined ? null : Buffer.from(chunk));
      return res;
    }
    if (held === null && pending === null) return end(...args);
    if (held !== null) {
      const chunk = typeof args[0] === 'function' ? null : (args[0] as Buffer | string | null | undefined);
      pending = release(chunk === null || chunk === undefined ? null : Buffer.from(chunk));
    }
    queue(() => end(...args));
    return res;
  }) as ServerResponse['end'];
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
