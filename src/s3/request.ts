// From a raw request to the S3 request model: where it goes (endpoint, bucket, key), what it does
// (operation) and how it is signed. The raw path and query stay exactly as received; Kura forwards them.
import { classifyEndpoint } from './endpoint.js';
import { badRequest, invalidHost, invalidUri } from './errors.js';
import { hasHeader, headerValues } from './headers.js';
import { parseHost } from './host.js';
import { classifyOperation } from './operation.js';
import { parseQuery, percentDecode, type SplitTarget, splitTarget } from './query.js';
import { readSignature } from './signature.js';
import type {
  Endpoint,
  Operation,
  QueryParam,
  RawRequest,
  S3ErrorSpec,
  S3Request,
  SignatureFacts,
} from './types.js';

export type ParseS3RequestResult = { ok: true; request: S3Request } | { ok: false; error: S3ErrorSpec };

/**
 * Bucket names S3 has ever allowed (up to 255 letters, digits, `.`, `_`, `-` for legacy us-east-1
 * buckets, "Bucket naming rules"). A path segment outside this set is no bucket; Kura lets S3 answer it
 * and never uses such a name for anything of its own (file paths, cache keys).
 */
const PLAUSIBLE_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

interface Location {
  bucket: string | null;
  key: string | null;
}

export function parseS3Request(raw: RawRequest): ParseS3RequestResult {
  const hostHeaders = headerValues(raw.headers, 'host');
  // RFC 9112 §3.2: exactly one Host; a request with none or several is answered 400.
  const [hostHeader] = hostHeaders;
  if (hostHeader === undefined || hostHeaders.length > 1) {
    // A target that is no S3 request is reported first, as before any Host is looked at.
    if (splitTarget(raw.target) === null) return fail(invalidUri());
    return fail(badRequest(hostHeader === undefined ? 'Missing Host header.' : 'Multiple Host headers.'));
  }
  const placed = placedOf(raw.method, raw.target, hostHeader);
  if (!placed.ok) return placed;
  const { target, host, query, endpoint, location } = placed;
  const operation =
    placed.operation ??
    classifyOperation({ method: raw.method, ...plausible(location), query, headers: raw.headers });
  return {
    ok: true,
    request: {
      method: raw.method,
      absoluteForm: target.authority !== null,
      hostHeader,
      host,
      endpoint,
      bucket: location.bucket,
      key: location.key,
      rawPath: target.rawPath,
      rawQuery: target.rawQuery,
      query,
      operation,
      signature: signatureOf(placed, raw.headers),
    },
  };
}

/**
 * The request's signature facts. Without an Authorization or x-amz-content-sha256 header they are the
 * query's alone (a presigned URL, or none), read once per placed target.
 */
function signatureOf(placed: Placed, headers: readonly string[]): SignatureFacts {
  if (hasHeader(headers, 'authorization') || hasHeader(headers, 'x-amz-content-sha256')) {
    return readSignature(headers, placed.query);
  }
  placed.querySignature ??= readSignature(NO_HEADERS, placed.query);
  return placed.querySignature;
}

/**
 * What a request's method, target and Host decide alone: where it goes, its query, and (for GET and HEAD,
 * whose operation no header changes) what it does. Shared by every request that repeats all three, as a
 * client reading the same objects again does (a presigned URL, or an SDK's `/bucket/key` with its
 * signature in a header): nothing may change it.
 */
interface Placed {
  ok: true;
  method: string;
  hostHeader: string;
  target: SplitTarget;
  host: S3Request['host'];
  query: readonly QueryParam[];
  endpoint: Endpoint;
  location: Location;
  operation: Operation | null;
  /** The signature facts of a request with no signing header (signatureOf), once read. */
  querySignature: SignatureFacts | null;
}

/**
 * How many targets the memo holds (past it, it starts again: a scan of distinct keys costs no memory),
 * and the longest it keeps: 4.1 MiB of heap when full of targets near the longest (measured). A longer
 * target is parsed every time.
 */
const PLACED_REMEMBERED = 1_024;
const PLACED_MAX_TARGET = 2_048;
const placedByTarget = new Map<string, Placed>();

function placedOf(
  method: string,
  rawTarget: string,
  hostHeader: string,
): Placed | { ok: false; error: S3ErrorSpec } {
  const known = placedByTarget.get(rawTarget);
  if (known !== undefined && known.method === method && known.hostHeader === hostHeader) return known;
  const placed = place(method, rawTarget, hostHeader);
  if (!placed.ok || rawTarget.length > PLACED_MAX_TARGET) return placed;
  if (placedByTarget.size >= PLACED_REMEMBERED) placedByTarget.clear();
  placedByTarget.set(rawTarget, placed);
  return placed;
}

function place(
  method: string,
  rawTarget: string,
  hostHeader: string,
): Placed | { ok: false; error: S3ErrorSpec } {
  const target = splitTarget(rawTarget);
  if (target === null) return fail(invalidUri());
  const authorityError = checkAuthority(target, hostHeader);
  if (authorityError !== null) return fail(authorityError);
  const host = parseHost(hostHeader);
  if (host === null) return fail(invalidHost(hostHeader));
  const query = parseQuery(target.rawQuery);
  if (query === null) return fail(invalidUri());
  const classified = classifyEndpoint(host);
  const location = locate(classified.endpoint, classified.bucket, target.rawPath);
  if (location === null) return fail(invalidUri());
  const operation =
    method === 'GET' || method === 'HEAD'
      ? classifyOperation({ method, ...plausible(location), query, headers: NO_HEADERS })
      : null;
  return {
    ok: true,
    method,
    hostHeader,
    target,
    host,
    query,
    endpoint: classified.endpoint,
    location,
    operation,
    querySignature: null,
  };
}

/** GET and HEAD rules read no header (src/s3/operation.ts): their operation is the target's. */
const NO_HEADERS: readonly string[] = [];

function fail(error: S3ErrorSpec): { ok: false; error: S3ErrorSpec } {
  return { ok: false, error };
}

/**
 * RFC 9112 §3.2.2 tells a proxy to replace Host with an absolute-form target's authority. Kura never
 * rewrites Host (it is signed), so it only accepts a request where the two already name the same host
 * and port: routing by one name while S3 sees another would let a client reach an upstream the
 * allowlist was not asked about. Names compare case-insensitively and a port left out is the scheme's
 * default (RFC 9110 §4.2.3), so `http://host:80/k` with `Host: host` agrees.
 *
 * One exception, for the AWS Common Runtime's HTTP client (the AWS CLI v2's CRT transfer client): it
 * writes the scheme's default port into the target whatever the endpoint's port, and signs the
 * endpoint's own `Host: host:9000`. When the names agree and the target's port is that explicit default,
 * the request goes where Host says, which is where Kura routes anyway (by Host, the name S3 checks).
 */
function checkAuthority(target: SplitTarget, hostHeader: string): S3ErrorSpec | null {
  if (target.authority === null) return null;
  const authority = parseHost(target.authority);
  if (authority === null) return invalidHost(target.authority);
  const host = parseHost(hostHeader);
  if (host === null) return invalidHost(hostHeader);
  const defaultPort = target.scheme === 'https' ? 443 : 80;
  const sameName = authority.hostname === host.hostname;
  const samePort = (authority.port ?? defaultPort) === (host.port ?? defaultPort);
  const crtDefaultPort = authority.port === defaultPort;
  return sameName && (samePort || crtDefaultPort)
    ? null
    : badRequest('The request-target authority does not match the Host header.');
}

/**
 * Bucket and key from the path ("Virtual hosting of buckets"): path style names the bucket in the first
 * segment, virtual style in the Host. The key is everything after, decoded once and never normalised —
 * `a/../b` and `//x` are keys like any other. `null` when the path's percent-encoding is malformed.
 */
function locate(endpoint: Endpoint, hostBucket: string | null, rawPath: string): Location | null {
  if (endpoint.kind === 'aws-other') return { bucket: null, key: null }; // not S3's data plane: no bucket
  if (endpoint.style === 'virtual') {
    const key = percentDecode(rawPath.slice(1));
    return key === null ? null : { bucket: hostBucket, key: emptyToNull(key) };
  }
  const afterSlash = rawPath.slice(1);
  const slash = afterSlash.indexOf('/');
  const bucket = percentDecode(slash === -1 ? afterSlash : afterSlash.slice(0, slash));
  const key = slash === -1 ? '' : percentDecode(afterSlash.slice(slash + 1));
  if (bucket === null || key === null) return null;
  if (bucket === '') return { bucket: null, key: null }; // `/` or `//x`: no bucket, a service-level call
  return { bucket, key: emptyToNull(key) };
}

function emptyToNull(key: string): string | null {
  return key === '' ? null : key;
}

/** An implausible bucket (`..`, `a/b`) is still reported, but no operation of Kura's applies to it. */
function plausible(location: Location): Location {
  if (location.bucket === null || PLAUSIBLE_BUCKET.test(location.bucket)) return location;
  return { bucket: null, key: null };
}
