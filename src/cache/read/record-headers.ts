// From S3's answer to an object record, and from a record back to the answer S3 would give.

import { headerValue } from '../../s3/headers.js';
import { contentRange } from '../../s3/range.js';
import type { ReadHeaders } from '../../s3/read-headers.js';
import type { ObjectKey, ObjectRecord } from '../../store/types.js';
import { type CacheOutcome, pushXCache } from '../exchange/outcome.js';
import { forbidsStoring } from '../freshness.js';

/**
 * Headers that describe one response, not the object: never replayed from a record. Everything else S3
 * sends (x-amz-meta-*, content-type, storage class, encryption, version id, object lock…) is kept as
 * sent, so a hit answers with the same headers without Kura knowing every one S3 may add.
 */
const PER_RESPONSE = new Set([
  'content-length',
  'content-range',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-amz-request-id',
  'x-amz-id-2',
  'x-amz-cf-id',
  'server',
  'accept-ranges',
  'etag',
  'last-modified',
  'x-amz-mp-parts-count',
  'x-cache',
  'age',
  'via',
]);

/** Whether a header of S3's answer describes that one response (its length, id, date…), not what it carries. */
export function isPerResponseHeader(lower: string): boolean {
  return PER_RESPONSE.has(lower);
}

function isChecksumHeader(lower: string): boolean {
  return lower.startsWith('x-amz-checksum-');
}

/** `bytes first-last/complete` of a 206 (RFC 9110 §14.4); null for anything else. */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; size: number } | null {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) return null;
  const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isSafeInteger(size) || start > end || end >= size) return null;
  return { start, end, size };
}

/** What a 200/206 (or HEAD 200) says about the object, or null when it cannot be cached. */
export interface AnswerFacts {
  etag: string;
  size: number;
  lastModified: string | null;
  /** Bytes this answer's body holds, inclusive; null for HEAD or an empty object. */
  range: { start: number; end: number } | null;
  headers: [string, string][];
  checksums: [string, string][];
  partsCount: number | null;
}

export type Uncacheable = 'no-etag' | 'no-length' | 'no-store';

export function readAnswer(
  status: number,
  raw: readonly string[],
  method: string,
): AnswerFacts | Uncacheable {
  const etag = headerValue(raw, 'etag');
  if (etag === undefined || etag === '') return 'no-etag';
  if (forbidsStoring(raw)) return 'no-store';
  let size: number;
  let range: AnswerFacts['range'];
  if (status === 206) {
    const cr = parseContentRange(headerValue(raw, 'content-range'));
    if (cr === null) return 'no-length';
    size = cr.size;
    range = { start: cr.start, end: cr.end };
  } else {
    const length = Number(headerValue(raw, 'content-length') ?? Number.NaN);
    if (!Number.isSafeInteger(length) || length < 0) return 'no-length';
    size = length;
    range = method === 'HEAD' || length === 0 ? null : { start: 0, end: length - 1 };
  }
  const headers: [string, string][] = [];
  const checksums: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (isChecksumHeader(lower)) checksums.push([lower, value]);
    else if (!PER_RESPONSE.has(lower)) headers.push([lower, value]);
  }
  const parts = Number(headerValue(raw, 'x-amz-mp-parts-count') ?? Number.NaN);
  return {
    etag,
    size,
    lastModified: headerValue(raw, 'last-modified') ?? null,
    range,
    headers,
    checksums,
    partsCount: Number.isSafeInteger(parts) ? parts : null,
  };
}

/** A record for a version first seen in `facts`. */
export function newRecord(
  key: ObjectKey,
  facts: AnswerFacts,
  opts: { source: ObjectRecord['source']; codec: ObjectRecord['codec']; now: number },
): ObjectRecord {
  return recordOf(key, {
    etag: facts.etag,
    size: facts.size,
    lastModified: facts.lastModified,
    headers: facts.headers,
    checksums: null,
    partsCount: facts.partsCount,
    parts: {},
    source: opts.source,
    codec: opts.codec,
    createdAt: opts.now,
  });
}

/**
 * The record of a version written through Kura (a PUT or a completed multipart upload). S3's answer to a
 * write carries no Last-Modified, so the record starts unvalidated: the first read asks S3, whose answer
 * completes it at no body cost (read-path.ts, revalidate.ts).
 */
export function uploadRecord(
  key: ObjectKey,
  version: Pick<ObjectRecord, 'etag' | 'size' | 'headers' | 'checksums' | 'partsCount' | 'parts' | 'codec'>,
): ObjectRecord {
  return recordOf(key, { ...version, lastModified: null, source: 'put', createdAt: Date.now() });
}

/** A record of `key` not yet validated by a read: what S3 said of the version, and where it came from. */
function recordOf(
  key: ObjectKey,
  fields: Omit<ObjectRecord, 'format' | 'namespace' | 'bucket' | 'key' | 'validatedGet' | 'validatedHead'>,
): ObjectRecord {
  return {
    format: 1,
    namespace: key.namespace,
    bucket: key.bucket,
    key: key.key,
    ...fields,
    validatedGet: null,
    validatedHead: null,
  };
}

export interface AnswerShape {
  status: 200 | 206;
  /** Inclusive byte range of the body; null for an empty body. */
  range: { start: number; end: number } | null;
  /** Whole-object answers carry checksums, when the client asked for them (`x-amz-checksum-mode`). */
  withChecksums: boolean;
  /** For `partNumber` answers. */
  partsCount: number | null;
}

/** The headers S3 would send with this answer, from the record; Content-Length recomputed. */
export function headersFromRecord(record: ObjectRecord, shape: AnswerShape, cache: CacheOutcome): string[] {
  const out: string[] = [];
  for (const [name, value] of record.headers) out.push(name, value);
  out.push('etag', record.etag);
  if (record.lastModified !== null) out.push('last-modified', record.lastModified);
  if (shape.withChecksums && record.checksums !== null) {
    for (const [name, value] of record.checksums) out.push(name, value);
  }
  if (shape.partsCount !== null) out.push('x-amz-mp-parts-count', String(shape.partsCount));
  out.push('accept-ranges', 'bytes');
  const length = shape.range === null ? 0 : shape.range.end - shape.range.start + 1;
  if (shape.status === 206 && shape.range !== null) {
    out.push('content-range', contentRange(shape.range, record.size));
  }
  out.push('content-length', String(length));
  pushXCache(out, cache);
  return out;
}

/** Whether the client asked S3 to send checksums (the AWS SDKs do on GetObject). */
export function wantsChecksums(headers: ReadHeaders): boolean {
  return headers.checksumMode[0]?.toUpperCase() === 'ENABLED';
}
