// What a request's signature tells Kura without verifying it: who signed, when, until when, and which
// headers the signature covers (the headers Kura must never touch: rule 1 of docs/architecture.md).
// Verification is S3's; anything Kura cannot read exactly is `unreadable`, which makes every header count
// as signed (Kura adds and changes none), is forwarded for S3 to judge with its hop-by-hop headers dropped
// as for any request (src/upstream/headers.ts), and is never answered from the cache (src/s3/cacheable.ts).
import { headerValues } from './headers.js';
import { parseAmzDate, parseHttpDate } from './http-date.js';
import { ParseMemo } from './parse-memo.js';
import type { QueryParam, SignatureFacts, SigV4Facts } from './types.js';

type Sigv4Kind = SigV4Facts['kind'];

/**
 * SigV4 and SigV4A algorithm names, as they open an Authorization header or fill `X-Amz-Algorithm`. A
 * switch, not an object's keys: the client names the algorithm, and `constructor` or `toString` found an
 * object's inherited members, which made the parse throw (the request then failed with a 500).
 */
function algorithmOf(name: string): Sigv4Kind | undefined {
  switch (name) {
    case 'AWS4-HMAC-SHA256':
      return 'sigv4';
    case 'AWS4-ECDSA-P256-SHA256':
      return 'sigv4a';
    default:
      return undefined;
  }
}

/** S3 caps presigned SigV4 URLs at seven days ("Authenticating Requests: Using Query Parameters"). */
const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

/** Query names whose presence makes a request SigV4-presigned; S3 matches them case-sensitively. */
const V4_QUERY_MARKERS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'] as const;
const V2_QUERY_MARKERS = ['AWSAccessKeyId', 'Signature'] as const;

/** SigV2 StringToSign covers Content-MD5, Content-Type, Date (or Expires) and every `x-amz-*` header. */
const V2_SIGNED_HEADERS: ReadonlySet<string> = new Set(['content-md5', 'content-type', 'date']);

/** RFC 9110 §5.6.2 token, which a SignedHeaders entry must be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const VISIBLE = /^[\x21-\x7e]+$/;
const HEX = /^[0-9a-f]+$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const ANONYMOUS: SignatureFacts = { kind: 'anonymous' };

function unreadable(reason: string): SignatureFacts {
  return { kind: 'unreadable', reason };
}

export function readSignature(headers: readonly string[], query: readonly QueryParam[]): SignatureFacts {
  const authorizations = headerValues(headers, 'authorization');
  const presignedV4 = query.some((param) => isV4Marker(param.name));
  const presignedV2 = query.some((param) => (V2_QUERY_MARKERS as readonly string[]).includes(param.name));
  const mechanisms = [authorizations.length > 0, presignedV4, presignedV2].filter(Boolean).length;
  if (mechanisms === 0) return ANONYMOUS;
  // S3 refuses a request that authenticates two ways ("Only one auth mechanism allowed").
  if (mechanisms > 1) return unreadable('more than one authentication mechanism');
  if (authorizations.length > 1) return unreadable('more than one Authorization header');
  const authorization = authorizations[0];
  if (authorization !== undefined) return readAuthorizationHeader(authorization, headers);
  return presignedV4 ? readPresignedV4(query, headers) : readPresignedV2(query);
}

/**
 * Which headers the signature covers. SigV4/SigV4A: exactly `SignedHeaders`. SigV2: its fixed set.
 * Unreadable: all of them, since Kura cannot tell. Anonymous: none.
 */
export function isHeaderSigned(sig: SignatureFacts, name: string): boolean {
  const lower = name.toLowerCase();
  switch (sig.kind) {
    case 'anonymous':
      return false;
    case 'unreadable':
      return true;
    case 'sigv2':
      return V2_SIGNED_HEADERS.has(lower) || lower.startsWith('x-amz-');
    default:
      return sig.signedHeaders.has(lower);
  }
}

/**
 * `X-Amz-*` presign names in any case mark a presigned URL; only the exact case is one S3 reads, so
 * another casing is not silently taken for an anonymous request but left unreadable.
 */
function isV4Marker(name: string): boolean {
  // Most names are no marker in any case: those that cannot be one by their length are never lower-cased.
  return V4_MARKER_LENGTHS.has(name.length) && V4_MARKERS_LOWER.has(name.toLowerCase());
}

const V4_MARKERS_LOWER: ReadonlySet<string> = new Set(V4_QUERY_MARKERS.map((m) => m.toLowerCase()));
const V4_MARKER_LENGTHS: ReadonlySet<number> = new Set(V4_QUERY_MARKERS.map((m) => m.length));

function readAuthorizationHeader(value: string, headers: readonly string[]): SignatureFacts {
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const scheme = space === -1 ? trimmed : trimmed.slice(0, space);
  const params = space === -1 ? '' : trimmed.slice(space + 1).trim();
  if (scheme === 'AWS') return readV2Header(params);
  const kind = algorithmOf(scheme);
  if (kind === undefined) return unreadable('unknown Authorization scheme');
  return readV4Header(kind, params, headers);
}

/** `Credential=…, SignedHeaders=…, Signature=…`, any order, spaces after commas optional. */
function readV4Header(kind: Sigv4Kind, params: string, headers: readonly string[]): SignatureFacts {
  const fields = parseAuthParams(params);
  if (fields === null) {
    return unreadable('Authorization needs exactly Credential, SignedHeaders and Signature');
  }
  const regionSet = kind === 'sigv4a' ? onlyValue(headerValues(headers, 'x-amz-region-set')) : undefined;
  return buildV4Facts(kind, 'header', {
    ...fields,
    regionSet,
    date: headerDate(headers),
    expiresAt: null,
    payloadHash: headerValues(headers, 'x-amz-content-sha256')[0] ?? null,
  });
}

type AuthFields = Pick<V4Parts, 'credential' | 'signedHeaders' | 'signature'>;

/**
 * Comma-separated `key=value` naming Credential, SignedHeaders and Signature once each; `null` on any
 * other or repeated key, or a piece without `=`. A switch, not a map: see parse-memo.ts.
 */
function parseAuthParams(params: string): AuthFields | null {
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  for (const piece of params.split(',')) {
    const part = piece.trim();
    const equals = part.indexOf('=');
    if (equals <= 0) return null;
    const value = part.slice(equals + 1);
    switch (part.slice(0, equals)) {
      case 'Credential':
        if (credential !== undefined) return null;
        credential = value;
        break;
      case 'SignedHeaders':
        if (signedHeaders !== undefined) return null;
        signedHeaders = value;
        break;
      case 'Signature':
        if (signature !== undefined) return null;
        signature = value;
        break;
      default:
        return null;
    }
  }
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return null;
  return { credential, signedHeaders, signature };
}

/** A presigned SigV4 URL's parameter names, in the order `readPresignedV4` keeps their values. */
const V4_QUERY_NAMES = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Region-Set',
] as const;
/** How many of V4_QUERY_NAMES, from the first, every presigned URL must carry. */
const V4_QUERY_REQUIRED_COUNT = V4_QUERY_NAMES.length - 1;

/**
 * Where V4_QUERY_NAMES has `name` (S3 reads the names case-sensitively), or -1. A switch, not a map (see
 * parse-memo.ts); and a position, not a field name: values stored under computed field names made an
 * object whose every load and store missed V8's inline caches, on every presigned request.
 */
function v4QueryIndex(name: string): number {
  switch (name) {
    case 'X-Amz-Algorithm':
      return 0;
    case 'X-Amz-Credential':
      return 1;
    case 'X-Amz-Date':
      return 2;
    case 'X-Amz-Expires':
      return 3;
    case 'X-Amz-SignedHeaders':
      return 4;
    case 'X-Amz-Signature':
      return 5;
    case 'X-Amz-Region-Set':
      return 6;
    default:
      return -1;
  }
}

function readPresignedV4(query: readonly QueryParam[], headers: readonly string[]): SignatureFacts {
  const values = new Array<string | undefined>(V4_QUERY_NAMES.length).fill(undefined);
  for (const param of query) {
    const at = v4QueryIndex(param.name);
    if (at === -1) continue;
    if (values[at] !== undefined) return unreadable(`${param.name} appears more than once`);
    values[at] = param.value;
  }
  for (let at = 0; at < V4_QUERY_REQUIRED_COUNT; at++) {
    if (values[at] === undefined) return unreadable(`presigned URL without ${V4_QUERY_NAMES[at]}`);
  }
  const [
    algorithm = '',
    credential = '',
    dateText = '',
    expires = '',
    signedHeaders = '',
    signature = '',
    regionSet,
  ] = values;
  const kind = algorithmOf(algorithm);
  if (kind === undefined) return unreadable('unknown X-Amz-Algorithm');
  const date = parseAmzDate(dateText);
  if (date === null) return unreadable('malformed X-Amz-Date');
  const expiresSeconds = parseExpiresSeconds(expires);
  if (expiresSeconds === null) return unreadable('malformed X-Amz-Expires');
  return buildV4Facts(kind, 'query', {
    credential,
    signedHeaders,
    signature,
    regionSet: kind === 'sigv4a' ? (regionSet ?? null) : undefined,
    date,
    expiresAt: new Date(date.getTime() + expiresSeconds * 1000),
    payloadHash: headerValues(headers, 'x-amz-content-sha256')[0] ?? null,
  });
}

function parseExpiresSeconds(text: string): number | null {
  if (!/^[0-9]{1,6}$/.test(text)) return null;
  const seconds = Number(text);
  return seconds <= MAX_PRESIGN_EXPIRES_SECONDS ? seconds : null;
}

interface V4Parts {
  credential: string;
  signedHeaders: string;
  signature: string;
  /** Raw `X-Amz-Region-Set`: `undefined` for SigV4, `null` when SigV4A lacks a single one. */
  regionSet: string | null | undefined;
  date: Date | null;
  expiresAt: Date | null;
  payloadHash: string | null;
}

function buildV4Facts(kind: Sigv4Kind, location: SigV4Facts['location'], parts: V4Parts): SignatureFacts {
  const credential = credentials[kind].get(parts.credential);
  if (credential === null) return unreadable('malformed Credential');
  const signedHeaders = signedHeaderLists.get(parts.signedHeaders);
  if (signedHeaders === null) return unreadable('malformed SignedHeaders');
  if (!HEX.test(parts.signature)) return unreadable('malformed Signature');
  const regionSet = parts.regionSet === undefined ? null : parseRegionSet(parts.regionSet);
  if (kind === 'sigv4a' && regionSet === null) {
    return unreadable('SigV4A without a readable X-Amz-Region-Set');
  }
  return {
    kind,
    location,
    accessKeyId: credential.accessKeyId,
    date: parts.date,
    scope: credential.scope,
    regionSet,
    signedHeaders,
    expiresAt: parts.expiresAt,
    payloadHash: parts.payloadHash,
  };
}

/** Parses of the credentials (one memo per kind) and signed-header lists clients repeat. */
const credentials: Record<Sigv4Kind, ParseMemo<Pick<SigV4Facts, 'accessKeyId' | 'scope'> | null>> = {
  sigv4: new ParseMemo((text) => parseCredential('sigv4', text)),
  sigv4a: new ParseMemo((text) => parseCredential('sigv4a', text)),
};
const signedHeaderLists = new ParseMemo(parseSignedHeaders);

/** SigV4 `AKID/YYYYMMDD/REGION/SERVICE/aws4_request`; SigV4A drops the region (it signs a region set). */
function parseCredential(kind: Sigv4Kind, text: string): Pick<SigV4Facts, 'accessKeyId' | 'scope'> | null {
  const parts = text.split('/');
  if (kind === 'sigv4a') parts.splice(2, 0, ''); // align with SigV4: the region slot is empty
  const [accessKeyId = '', date = '', region = '', service = '', terminator] = parts;
  if (parts.length !== 5 || terminator !== 'aws4_request') return null;
  if (!VISIBLE.test(accessKeyId) || !VISIBLE.test(service)) return null;
  if (kind === 'sigv4' && !VISIBLE.test(region)) return null;
  if (parseAmzDate(`${date}T000000Z`) === null) return null; // rejects non-digits and 20240231 alike
  return Object.freeze({
    accessKeyId,
    scope: Object.freeze({ date, region: kind === 'sigv4' ? region : null, service }),
  });
}

/** `host;range;x-amz-date`: tokens, lower-cased (S3 requires lower case; Kura compares lower case). */
function parseSignedHeaders(text: string): ReadonlySet<string> | null {
  const names = text.split(';');
  if (!names.every((name) => TOKEN.test(name))) return null;
  return new Set(names.map((name) => name.toLowerCase()));
}

function parseRegionSet(text: string | null): string[] | null {
  if (text === null) return null;
  const regions = text.split(',').map((region) => region.trim());
  return regions.every((region) => VISIBLE.test(region)) ? regions : null;
}

/** `X-Amz-Date` when sent (SigV4 prefers it), else `Date`; a repeated or malformed one gives `null`. */
function headerDate(headers: readonly string[]): Date | null {
  const amzDates = headerValues(headers, 'x-amz-date');
  if (amzDates.length > 0) {
    const amzDate = onlyValue(amzDates);
    return amzDate === null ? null : parseAmzDate(amzDate);
  }
  const date = onlyValue(headerValues(headers, 'date'));
  return date === null ? null : parseHttpDate(date);
}

function onlyValue(values: readonly string[]): string | null {
  return values.length === 1 ? (values[0] ?? null) : null;
}

/** SigV2 header: `AWS AKID:base64signature`. */
function readV2Header(params: string): SignatureFacts {
  const colon = params.indexOf(':');
  const accessKeyId = params.slice(0, Math.max(colon, 0));
  const signature = params.slice(colon + 1);
  if (colon <= 0 || !VISIBLE.test(accessKeyId) || !BASE64.test(signature)) {
    return unreadable('malformed SigV2 Authorization');
  }
  return { kind: 'sigv2', location: 'header', accessKeyId, expiresAt: null };
}

/** SigV2 presigned URL: `AWSAccessKeyId`, `Expires` (epoch seconds) and `Signature`, once each. */
function readPresignedV2(query: readonly QueryParam[]): SignatureFacts {
  const one = (name: string) => onlyValue(query.filter((param) => param.name === name).map((p) => p.value));
  const accessKeyId = one('AWSAccessKeyId');
  const expires = one('Expires');
  const signature = one('Signature');
  if (accessKeyId === null || !VISIBLE.test(accessKeyId)) return unreadable('malformed AWSAccessKeyId');
  if (expires === null || !/^[0-9]{1,12}$/.test(expires)) return unreadable('malformed Expires');
  if (signature === null || !BASE64.test(signature)) return unreadable('malformed Signature');
  return { kind: 'sigv2', location: 'query', accessKeyId, expiresAt: new Date(Number(expires) * 1000) };
}
