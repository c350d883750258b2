// S3 object semantics for the in-memory origin (memory-origin.ts), as Amazon S3 has them where s3rver does
// not: ETags of multipart objects, Range (suffix ranges too) and partNumber, 412 and 304 preconditions,
// addressing, and the answers to GET/HEAD as data, so the server only has to write them.

import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import { crc32 } from 'node:zlib';
import { parseQuery, percentDecode } from './sigv4-canonical.js';

export interface PutOptions {
  /** Default `binary/octet-stream`, what S3 stores when a PUT names no type. */
  contentType?: string;
  /** User metadata, answered as `x-amz-meta-NAME` (names lower-cased, as S3 does). */
  metadata?: Record<string, string>;
  /** Store as a multipart object with these part sizes (each > 0, summing to the body's length). */
  partSizes?: number[];
  /** Default now. */
  lastModified?: Date;
  /** More headers answered as stored, e.g. Cache-Control, Content-Encoding, Content-Disposition. */
  headers?: Record<string, string>;
}

export interface ObjectPart {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  /** Quoted, as S3 sends it: `"md5hex"`, or `"md5-of-the-part-md5s-N"` for a multipart object. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The parts of a multipart object; undefined for an object stored in one piece. */
  readonly parts: readonly ObjectPart[] | undefined;
  /** Base64 of the big-endian CRC32 of the body, as in `x-amz-checksum-crc32`. */
  readonly checksumCrc32: string;
}

/** A stored object and what every answer about it repeats, computed once at put. */
export interface StoredEntry {
  object: StoredObject;
  /** HTTP dates carry whole seconds, so conditionals compare Last-Modified at that precision. */
  lastModifiedSec: number;
  /** The ETag without its quotes. */
  opaqueTag: string;
  /** ETag, Last-Modified, Content-Type, Accept-Ranges, x-amz-meta-*, stored headers (name, value, ...). */
  baseHeaders: string[];
}

// Computed per answer: a stored header of one of these names would contradict the origin.
const RESERVED =
  /^(accept-ranges|connection|content-(length|range|type)|date|etag|last-modified|server|transfer-encoding|x-amz-meta-.*)$/;

export function createEntry(bucket: string, key: string, body: Buffer, opts: PutOptions = {}): StoredEntry {
  const parts = opts.partSizes === undefined ? undefined : partsOf(opts.partSizes, body.length);
  const md5 = (data: Buffer) => createHash('md5').update(data).digest();
  const tag = parts
    ? `${createHash('md5')
        .update(Buffer.concat(parts.map((p) => md5(body.subarray(p.start, p.end + 1)))))
        .digest('hex')}-${parts.length}`
    : md5(body).toString('hex');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  const metadata = lowerKeys(opts.metadata);
  const headers = lowerKeys(opts.headers);
  const reserved = Object.keys(headers).find((name) => RESERVED.test(name));
  if (reserved) throw new Error(`memory origin: ${reserved} is computed by the origin (or is metadata)`);
  const object: StoredObject = {
    bucket,
    key,
    body,
    etag: `"${tag}"`,
    lastModified: opts.lastModified ?? new Date(),
    contentType: opts.contentType ?? 'binary/octet-stream',
    metadata,
    headers,
    parts,
    checksumCrc32: crc.toString('base64'),
  };
  const baseHeaders = ['ETag', object.etag, 'Last-Modified', object.lastModified.toUTCString()];
  baseHeaders.push('Content-Type', object.contentType, 'Accept-Ranges', 'bytes');
  for (const [name, value] of Object.entries(metadata)) baseHeaders.push(`x-amz-meta-${name}`, value);
  for (const [name, value] of Object.entries(headers)) baseHeaders.push(name, value);
  // Refuse at put what would make every answer about the object throw in writeHead.
  for (let i = 0; i + 1 < baseHeaders.length; i += 2) {
    validateHeaderName(baseHeaders[i] ?? '');
    validateHeaderValue(baseHeaders[i] ?? '', baseHeaders[i + 1] ?? '');
  }
  const lastModifiedSec = Math.floor(object.lastModified.getTime() / 1000);
  return { object, lastModifiedSec, opaqueTag: tag, baseHeaders };
}

function lowerKeys(record: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
}

function partsOf(sizes: number[], length: number): ObjectPart[] {
  if (sizes.length < 1 || sizes.length > 10_000) throw new Error('memory origin: 1 to 10000 parts');
  const parts: ObjectPart[] = [];
  let start = 0;
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`memory origin: bad part size ${size}`);
    parts.push({ start, end: start + size - 1 });
    start += size;
  }
  if (start !== length) throw new Error(`memory origin: part sizes sum to ${start}, the body has ${length}`);
  return parts;
}

export type RangeResolution =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * A Range header as S3 reads it: one `bytes=` range, its last position clipped to the object. A header it
 * cannot parse, or one asking for several ranges, is ignored (the whole object, 200), as RFC 9110 allows.
 */
export function resolveRange(header: string | undefined, size: number): RangeResolution {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  const [, first = '', last = ''] = m ?? [];
  if (!m || (first === '' && last === '')) return { kind: 'whole' };
  if (first === '') {
    // Suffix range: the last n bytes, all of them when n exceeds the size; none at all is unsatisfiable.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}

export type Precondition =
  | { outcome: 'pass' | 'not-modified' }
  | { outcome: 'failed'; condition: 'If-Match' | 'If-Unmodified-Since' };

/**
 * RFC 9110 section 13.2.2 order, which S3 follows: If-Match, else If-Unmodified-Since (412); then
 * If-None-Match, else If-Modified-Since (304). A date that does not parse is ignored.
 */
export function evaluatePreconditions(h: IncomingHttpHeaders, entry: StoredEntry): Precondition {
  const ifMatch = h['if-match'];
  const unmodifiedSince = seconds(h['if-unmodified-since']);
  if (ifMatch !== undefined) {
    if (!tagListMatches(ifMatch, entry.opaqueTag, true)) return { outcome: 'failed', condition: 'If-Match' };
  } else if (unmodifiedSince !== undefined && entry.lastModifiedSec > unmodifiedSince) {
    return { outcome: 'failed', condition: 'If-Unmodified-Since' };
  }
  const ifNoneMatch = h['if-none-match'];
  const modifiedSince = seconds(h['if-modified-since']);
  if (ifNoneMatch !== undefined) {
    if (tagListMatches(ifNoneMatch, entry.opaqueTag, false)) return { outcome: 'not-modified' };
  } else if (modifiedSince !== undefined && entry.lastModifiedSec <= modifiedSince) {
    return { outcome: 'not-modified' };
  }
  return { outcome: 'pass' };
}

function seconds(httpDate: string | undefined): number | undefined {
  const ms = httpDate === undefined ? Number.NaN : Date.parse(httpDate);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Whether a comma-separated entity-tag list names `opaque`. Strong comparison refuses weak tags (W/"...");
 * weak comparison ignores the W/. An unquoted tag is taken as is: S3 accepts `If-Match: abc`.
 */
function tagListMatches(list: string, opaque: string, strong: boolean): boolean {
  for (const item of list.split(',')) {
    let tag = item.trim();
    if (tag === '*') return true;
    const weak = tag.startsWith('W/');
    if (weak) tag = tag.slice(2);
    if (tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"')) tag = tag.slice(1, -1);
    if (tag === opaque && !(strong && weak)) return true;
  }
  return false;
}

/**
 * The bucket and key (decoded; '' for the bucket itself) a request addresses: virtual-hosted when the Host
 * is `bucket.s3.amazonaws.com` or `bucket.s3.REGION.amazonaws.com`, else path-style (`/bucket/key`).
 * `undefined` for the service root.
 */
export function addressOf(
  path: string,
  host: string | undefined,
): { bucket: string; key: string } | undefined {
  const virtual = /^(.+)\.s3(?:\.[a-z0-9-]+)?\.amazonaws\.com(?::\d+)?$/i.exec(host ?? '');
  if (virtual?.[1]) return { bucket: virtual[1].toLowerCase(), key: decodePath(path.slice(1)) };
  const slash = path.indexOf('/', 1);
  const bucket = decodePath(slash < 0 ? path.slice(1) : path.slice(1, slash));
  return bucket === '' ? undefined : { bucket, key: slash < 0 ? '' : decodePath(path.slice(slash + 1)) };
}

// %XX becomes a byte and `+` a space: S3 reads a `+` in the path as a space too (legacy behaviour, which
// is why SDKs always send %2B), so the query decoder is the right one.
function decodePath(raw: string): string {
  return percentDecode(raw).toString('utf8');
}

/** An answer as data: the server adds request ids, Server, the error body and, unless told, the length. */
export interface Answer {
  status: number;
  /** Name, value, ...; owned by the answer (the server appends to it). */
  headers: string[];
  /** Object bytes: paced by the bandwidth cap and cut by 'truncate' faults; never sent for HEAD. */
  body?: Buffer;
  /** An S3 error, sent as XML (for GET; a HEAD error has no body, as in S3). */
  error?: { code: string; message: string; fields: Record<string, string> };
}

export function s3Error(
  status: number,
  code: string,
  message: string,
  fields: Record<string, string> = {},
  headers: string[] = [],
): Answer {
  return { status, headers, error: { code, message, fields } };
}

export function notImplemented(what: string): Answer {
  const message = `A header you provided implies functionality that is not implemented (memory origin: ${what})`;
  return s3Error(501, 'NotImplemented', message);
}

/** The S3 error a 'status' fault answers when it names no code. */
export function faultError(status: number, code: string | undefined): Answer {
  if (code !== undefined) return s3Error(status, code, 'Injected fault.');
  if (status === 503) return s3Error(503, 'SlowDown', 'Please reduce your request rate.');
  if (status >= 500)
    return s3Error(status, 'InternalError', 'We encountered an internal error. Please try again.');
  return s3Error(status, 'InvalidRequest', 'Injected fault.');
}

export function errorXml(answer: Answer, requestId: string, hostId: string): Buffer {
  const { code, message, fields } = answer.error ?? { code: '', message: '', fields: {} };
  const extra = Object.entries(fields).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`);
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${extra.join('')}` +
      `<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`,
  );
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const RESPONSE_OVERRIDES = new Map(
  [
    'Content-Type',
    'Content-Language',
    'Expires',
    'Cache-Control',
    'Content-Disposition',
    'Content-Encoding',
  ].map((h) => [`response-${h.toLowerCase()}`, h]),
);

/** GetObject/HeadObject: `stored` is the object the request names, if it exists. */
export function answerRead(
  stored: StoredEntry | undefined,
  key: string,
  headers: IncomingHttpHeaders,
  rawQuery: string,
  anonymous: boolean,
): Answer {
  let partParam: string | undefined;
  let partParams = 0;
  let checksumMode = headers['x-amz-checksum-mode'];
  const overrides: [string, string][] = [];
  for (const p of rawQuery === '' ? [] : parseQuery(rawQuery)) {
    const value = p.value.toString('utf8');
    const lower = p.name.toLowerCase();
    const override = RESPONSE_OVERRIDES.get(p.name);
    if (p.name === 'partNumber') {
      partParam = value;
      partParams += 1;
    } else if (override) {
      overrides.push([override, value]);
    } else if (lower === 'x-amz-checksum-mode') {
      // Presigners hoist x-amz-* headers into the query, and S3 honours them there.
      checksumMode = value;
    } else if (p.name !== 'x-id' && !lower.startsWith('x-amz-')) {
      return notImplemented(`the query parameter ${p.name}`);
    }
  }
  const range = headers.range;
  const partNumber = partParam !== undefined && /^\d{1,5}$/.test(partParam) ? Number(partParam) : 0;
  if (partParam !== undefined && (partParams > 1 || partNumber < 1 || partNumber > 10_000)) {
    const message = 'Part number must be an integer between 1 and 10000, inclusive';
    return s3Error(400, 'InvalidArgument', message, { ArgumentName: 'partNumber', ArgumentValue: partParam });
  }
  if (partParam !== undefined && range !== undefined) {
    return s3Error(400, 'InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  }
  if (overrides.length > 0 && anonymous) {
    const message = 'Request specific response headers cannot be used for anonymous GET requests.';
    return s3Error(400, 'InvalidRequest', message);
  }
  if (!stored) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });

  const obj = stored.object;
  const pre = evaluatePreconditions(headers, stored);
  if (pre.outcome === 'failed') {
    const message = 'At least one of the pre-conditions you specified did not hold';
    return s3Error(412, 'PreconditionFailed', message, { Condition: pre.condition });
  }
  if (pre.outcome === 'not-modified') {
    return { status: 304, headers: ['ETag', obj.etag, 'Last-Modified', obj.lastModified.toUTCString()] };
  }

  const size = obj.body.length;
  let r = resolveRange(range, size);
  const extra: string[] = [];
  if (partParam !== undefined) {
    // S3 answers a part as a range, with the object's ETag. An object stored in one piece has one part,
    // the whole object, answered 206 with a Content-Range and without x-amz-mp-parts-count (a capture of
    // S3 in versity/versitygw#2074; the SDK docs: "PartsCount ... only returned if you specify partNumber
    // and the object was uploaded as a multipart upload"). An empty object's part 1 cannot be a range
    // (`bytes 0--1/0`): it is answered as the whole object, 200 (a guess, not checked against S3).
    const part = obj.parts
      ? obj.parts[partNumber - 1]
      : partNumber === 1
        ? { start: 0, end: size - 1 }
        : undefined;
    if (!part) {
      const fields = {
        PartNumberRequested: String(partNumber),
        ActualPartCount: String(obj.parts?.length ?? 1),
      };
      return s3Error(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable', fields);
    }
    r = size > 0 ? { kind: 'partial', ...part } : { kind: 'whole' };
    if (obj.parts) extra.push('x-amz-mp-parts-count', String(obj.parts.length));
  }
  if (r.kind === 'unsatisfiable') {
    const fields = { RangeRequested: range ?? '', ActualObjectSize: String(size) };
    const message = 'The requested range is not satisfiable';
    return s3Error(416, 'InvalidRange', message, fields, ['Content-Range', `bytes */${size}`]);
  }
  if (r.kind === 'partial') {
    extra.push('Content-Range', `bytes ${r.start}-${r.end}/${size}`);
  } else if (checksumMode === 'ENABLED') {
    // A checksum describes the whole object, so S3 sends it with whole-object answers only.
    extra.push('x-amz-checksum-crc32', obj.checksumCrc32, 'x-amz-checksum-type', 'FULL_OBJECT');
  }
  const body = r.kind === 'partial' ? obj.body.subarray(r.start, r.end + 1) : obj.body;
  const out = [...stored.baseHeaders, 'Content-Length', String(body.length), ...extra];
  for (const [name, value] of overrides) {
    const i = out.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name.toLowerCase());
    if (i < 0) out.push(name, value);
    else out[i + 1] = value;
  }
  return { status: r.kind === 'partial' ? 206 : 200, headers: out, body };
}
