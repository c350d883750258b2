// Whether a request may be answered from the cache at all (docs/caching.md#bypasses), and if not, why. A
// request that is not cacheable passes through untouched; the reason is counted, never shown to clients.
import { isStorableBucket } from './bucket-name.js';
import { isPresignParam } from './operation.js';
import { parseRange } from './range.js';
import type { ReadHeaders } from './read-headers.js';
import type { EndpointKind, QueryParam, S3Request } from './types.js';

export const BYPASS_REASONS = [
  'operation',
  'version-id',
  'sse-c',
  'part-head',
  'query',
  'range-multiple',
  'range-invalid',
  'range-with-part',
  'endpoint',
  'bucket-name',
  'signature-unreadable',
  'presign-expired',
  'no-store',
  'expected-owner',
  'request-payer',
] as const;

export type BypassReason = (typeof BYPASS_REASONS)[number];

/** Front doors whose answers depend only on bucket and key. Object Lambda runs code per caller. */
const CACHEABLE_ENDPOINTS: ReadonlySet<EndpointKind> = new Set([
  'aws-s3',
  'aws-access-point',
  'aws-mrap',
  'aws-express',
  'custom',
]);

/** Query names that select or sign the cached answer without changing it; the SDK v3 adds `x-id`. */
const CACHEABLE_PARAMS: ReadonlySet<string> = new Set(['partNumber', 'x-id']);

/**
 * `null` when the request may be served from (and stored in) the cache. A signature Kura cannot read
 * (src/s3/signature.ts) is S3's alone to judge: S3 may well refuse it, so no cached answer stands in.
 */
export function bypassReason(s3: S3Request, headers: ReadHeaders, now: number): BypassReason | null {
  return (
    operationBypass(s3) ??
    queryBypass(s3) ??
    headerBypass(headers) ??
    rangeBypass(s3, headers.range) ??
    (s3.signature.kind === 'unreadable' ? 'signature-unreadable' : null) ??
    (presignExpired(s3, now) ? 'presign-expired' : null)
  );
}

/**
 * docs/caching.md#bypasses: only GetObject and HeadObject of a current version, on a front door Kura can key
 * by name.
 */
function operationBypass(s3: S3Request): BypassReason | null {
  const { name } = s3.operation;
  if ((name !== 'GetObject' && name !== 'HeadObject') || s3.bucket === null || s3.key === null) {
    return 'operation';
  }
  if (!CACHEABLE_ENDPOINTS.has(s3.endpoint.kind)) return 'endpoint';
  if (!isStorableBucket(s3.bucket)) return 'bucket-name';
  return null;
}

/**
 * docs/caching.md#bypasses: a version is addressed by `versionId`, which the cache does not key on;
 * `response-*` parameters rewrite the answer's headers; HEAD `?partNumber` describes a part, not the
 * object record.
 */
function queryBypass(s3: S3Request): BypassReason | null {
  const byParams = paramsBypass(s3.query);
  if (byParams === 'version-id') return byParams;
  if (s3.operation.name === 'HeadObject' && s3.operation.partNumber !== null) return 'part-head';
  return byParams;
}

/**
 * What the query's parameters alone decide, kept per parsed query: a query is never changed once parsed,
 * and a request that repeats its target shares its parse (src/s3/request.ts). A presigned URL's six
 * parameters took longer to look through than the rest of the bypass checks together.
 */
const PARAMS_BYPASS = new WeakMap<readonly QueryParam[], BypassReason | null>();

function paramsBypass(query: readonly QueryParam[]): BypassReason | null {
  const known = PARAMS_BYPASS.get(query);
  if (known !== undefined) return known;
  let reason: BypassReason | null = null;
  if (query.some((param) => param.name === 'versionId')) reason = 'version-id';
  // The presign test first: it reads a name's first characters, where the set would look the name up.
  else if (query.some((param) => !isPresignParam(param.name) && !CACHEABLE_PARAMS.has(param.name))) {
    reason = 'query';
  }
  PARAMS_BYPASS.set(query, reason);
  return reason;
}

/**
 * Headers that make S3 check or bill something per request, so a hit would change the answer: SSE-C
 * keys (S3 verifies the key on every read), the expected bucket owner (S3 answers 403 on a mismatch),
 * requester-pays (the requester is billed, and S3 answers 403 without it). RFC 9111 §5.2.1.5: a request
 * `no-store` forbids storing the answer.
 */
function headerBypass(headers: ReadHeaders): BypassReason | null {
  if (headers.sseC) return 'sse-c';
  if (headers.cacheControl.length > 0 && cacheDirectives(headers.cacheControl).has('no-store'))
    return 'no-store';
  if (headers.expectedBucketOwner) return 'expected-owner';
  if (headers.requestPayer) return 'request-payer';
  return null;
}

/**
 * RFC 9110 §14.2 lets S3 ignore an invalid Range (it does) and answer several ranges as multipart (it
 * does not); both are S3's to answer. S3 rejects a Range beside `partNumber`.
 */
function rangeBypass(s3: S3Request, values: readonly string[]): BypassReason | null {
  if (values.length === 0) return null;
  if (values.length > 1) return 'range-invalid'; // which one S3 reads is not documented
  const range = parseRange(values[0]);
  if (range?.kind === 'multiple') return 'range-multiple';
  if (range?.kind === 'invalid') return 'range-invalid';
  return s3.operation.partNumber !== null ? 'range-with-part' : null;
}

/** docs/caching.md#bypasses: an expired presigned URL is never answered from cache; S3 would refuse it. */
function presignExpired(s3: S3Request, now: number): boolean {
  const signature = s3.signature;
  if (signature.kind === 'anonymous' || signature.kind === 'unreadable') return false;
  if (signature.location !== 'query' || signature.expiresAt === null) return false;
  return signature.expiresAt.getTime() <= now;
}

/**
 * RFC 9111 §5.2.1.4 (`no-cache`), §5.2.1.1 (`max-age=0`) and §5.4 (`Pragma: no-cache`, honoured only
 * when no Cache-Control is sent): the client wants S3's word, so even a fresh entry is revalidated.
 */
export function requestWantsRevalidation(headers: ReadHeaders): boolean {
  if (headers.cacheControl.length > 0) {
    const directives = cacheDirectives(headers.cacheControl);
    if (directives.has('no-cache')) return true;
    const maxAge = directives.get('max-age');
    return maxAge !== undefined && /^"?0+"?$/.test(maxAge);
  }
  return headers.pragma.some((value) =>
    value.split(',').some((element) => element.trim().toLowerCase() === 'no-cache'),
  );
}

/**
 * RFC 9111 §5.2: the directives of every `Cache-Control` field line (`values`), names lower-cased, values
 * as sent (`''` for a bare name). A comma inside a quoted value is split too: no directive Kura reads has
 * one.
 */
export function cacheDirectives(values: readonly string[]): Map<string, string> {
  const directives = new Map<string, string>();
  for (const value of values) {
    for (const element of value.split(',')) {
      const equals = element.indexOf('=');
      const name = (equals === -1 ? element : element.slice(0, equals)).trim().toLowerCase();
      if (name !== '' && !directives.has(name)) {
        directives.set(name, equals === -1 ? '' : element.slice(equals + 1).trim());
      }
    }
  }
  return directives;
}
