// One access-log line per request, as JSON (default) or in the S3 server access log format. Lines are
// buffered and written in batches; a file is reopened on SIGHUP so that logrotate can move it away.

import { createWriteStream, type WriteStream } from 'node:fs';

/** What one request did, as the access log records it. Secrets are redacted before they get here. */
export interface AccessRecord {
  requestId: string;
  remote: string;
  method: string;
  host: string;
  /**
   * The request target with signatures and security tokens redacted. It may be a getter of the record's
   * class, redacting when read: read it by name, since a spread leaves it out.
   */
  path: string;
  operation: string;
  bucket?: string | null;
  key?: string | null;
  /** The Range header as sent, or null. */
  range?: string | null;
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** The X-Cache value sent, or null when the response had none. */
  cache?: string | null;
  /** Time to the response head; null when none was sent. */
  ttfbMs?: number | null;
  /** Time to the last byte. */
  durationMs: number;
  upstream: string | null;
  userAgent?: string | null;
  /** Why Kura answered itself or the exchange broke off, when it did. */
  error?: string;
}

export type AccessFormat = 'json' | 's3';

export interface AccessLog {
  write(record: AccessRecord): void;
  /** Writes the buffered lines and opens the file again under its name (after rotation). */
  reopen?(): Promise<void>;
  /** Writes the buffered lines and closes the file. */
  close(): Promise<void>;
}

export interface AccessLogOptions {
  format?: AccessFormat;
  /** Longest time a line waits in the buffer. */
  flushMs?: number;
  /** Buffered bytes that trigger a write at once. */
  maxBuffered?: number;
}

export function createAccessLog(target: string, opts: AccessLogOptions = {}): AccessLog {
  if (target === 'off') return { write() {}, reopen: async () => {}, close: async () => {} };
  const format = opts.format ?? 'json';
  const flushMs = opts.flushMs ?? 1000;
  const maxBuffered = opts.maxBuffered ?? 64 * 1024;
  const open = (): NodeJS.WritableStream | WriteStream =>
    target === 'stdout' ? process.stdout : createWriteStream(target, { flags: 'a', mode: 0o640 });
  let stream = open();
  let buffer: string[] = [];
  let buffered = 0;
  let timer: NodeJS.Timeout | null = null;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffer.length === 0) return;
    stream.write(buffer.join(''));
    buffer = [];
    buffered = 0;
  };
  const end = (s: NodeJS.WritableStream | WriteStream) =>
    s === process.stdout
      ? Promise.resolve()
      : new Promise<void>((resolve) => (s as WriteStream).end(resolve));

  return {
    write(record) {
      const line = format === 's3' ? s3AccessLine(record, new Date()) : jsonLine(record);
      buffer.push(line);
      buffered += line.length;
      if (buffered >= maxBuffered) flush();
      else if (timer === null) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    async reopen() {
      flush();
      const old = stream;
      stream = open();
      await end(old);
    },
    async close() {
      flush();
      await end(stream);
    },
  };
}

function jsonLine(record: AccessRecord): string {
  // The path is named: it may be a getter of the record's class (src/cache/request-path.ts), which a
  // spread leaves out. The fields keep the record's order.
  const { requestId, remote, method, host, path, ...rest } = record;
  const line = { time: new Date().toISOString(), requestId, remote, method, host, path, ...rest };
  return `${JSON.stringify(line)}\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[06/Feb/2019:00:00:38 +0000]`, as S3 writes times. */
function s3Time(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `[${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())} +0000]`;
}

/** `REST.GET.OBJECT` and the like: S3's own names for the operations it logs. */
export function s3LogOperation(method: string, operation: string): string {
  const target: Record<string, string> = {
    GetObject: 'OBJECT',
    HeadObject: 'OBJECT',
    PutObject: 'OBJECT',
    DeleteObject: 'OBJECT',
    CopyObject: 'OBJECT',
    ListObjects: 'BUCKET',
    ListObjectsV2: 'BUCKET',
    HeadBucket: 'BUCKET',
    DeleteObjects: 'MULTI_OBJECT_DELETE',
    CreateMultipartUpload: 'UPLOADS',
    UploadPart: 'UPLOAD',
    CompleteMultipartUpload: 'UPLOAD',
    AbortMultipartUpload: 'UPLOAD',
  };
  return `REST.${method}.${target[operation] ?? operation.toUpperCase()}`;
}

const field = (v: string | number | null | undefined): string =>
  v === null || v === undefined || v === '' ? '-' : String(v);
const quoted = (v: string | null | undefined): string =>
  v === null || v === undefined ? '-' : `"${v.replace(/["\\]/g, '\\$&')}"`;

/**
 * The S3 server access log layout (bucket owner, bucket, time, remote IP, requester, request id,
 * operation, key, request URI, status, error code, bytes sent, object size, total time, turn-around
 * time, referrer, user agent, version id, …), then Kura's own: X-Cache, range, upstream. Fields Kura
 * cannot know (owner, requester, host id) are `-`, as S3 writes unknown fields.
 */
export function s3AccessLine(r: AccessRecord, at: Date): string {
  const key = r.key === null || r.key === undefined ? '-' : encodeURIComponent(r.key).replace(/%2F/g, '/');
  return `${[
    '-',
    field(r.bucket),
    s3Time(at),
    field(r.remote),
    '-',
    r.requestId,
    s3LogOperation(r.method, r.operation),
    key,
    quoted(`${r.method} ${r.path} HTTP/1.1`),
    field(r.status),
    field(r.error?.split(':')[0]),
    field(r.bytesOut),
    '-',
    field(Math.round(r.durationMs)),
    field(r.ttfbMs === null || r.ttfbMs === undefined ? null : Math.round(r.ttfbMs)),
    '-',
    quoted(r.userAgent ?? null),
    '-',
    '-',
    '-',
    '-',
    '-',
    field(r.host),
    '-',
    '-',
    '-',
    field(r.cache),
    quoted(r.range ?? null),
    field(r.upstream),
  ].join(' ')}\n`;
}
