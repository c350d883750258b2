// A strict AWS Signature Version 4 verifier for the test origin.
//
// It rebuilds the canonical request from the request exactly as it arrived (raw URL, raw header list), so
// a proxy that re-encodes the path, reorders or drops a signed header, or rewrites a query value is caught
// the way S3 would catch it. Pure node:crypto on purpose: verifying with the same library that signs
// (@smithy/signature-v4) would let a shared bug pass unnoticed.
//
// Strings follow Node's http conventions: `rawUrl` and `rawHeaders` hold one char per received byte
// (latin1), as `IncomingMessage.url` and `.rawHeaders` do.

import { timingSafeEqual } from 'node:crypto';
import {
  canonicalHeaderValue,
  canonicalQueryString,
  headerMap,
  hmac,
  parseQuery,
  type QueryParam,
  sha256Hex,
  splitUrl,
} from './sigv4-canonical.js';

export interface RawRequest {
  method: string;
  rawUrl: string;
  rawHeaders: readonly string[];
}

export type SigV4Verdict =
  | { ok: true; accessKeyId: string; payloadHash: string; anonymous?: boolean }
  | { ok: false; status: number; code: string; message: string };

export interface VerifyOptions {
  /** Let unauthenticated requests through (verdict ok with `anonymous: true` and an empty key id). */
  allowAnonymous?: boolean;
  /** When set, the credential scope must name this region, as S3 requires of a regional endpoint. */
  region?: string;
  /** The credential scope's service; `s3` unless told. */
  service?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const ALGORITHM_V4A = 'AWS4-ECDSA-P256-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_EXPIRES_S = 604_800;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
// The payload hashes S3 accepts in x-amz-content-sha256 besides a hex digest.
const SPECIAL_PAYLOAD_HASHES = new Set([
  'UNSIGNED-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);
const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

type Failure = Extract<SigV4Verdict, { ok: false }>;

const fail = (status: number, code: string, message: string): Failure => ({
  ok: false,
  status,
  code,
  message,
});

const UNSUPPORTED_MECHANISM = (what: string): Failure =>
  fail(
    400,
    'InvalidRequest',
    `The authorization mechanism you have provided (${what}) is not supported. Please use ${ALGORITHM}.`,
  );

export function verifySigV4(
  req: RawRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  now: Date,
  options: VerifyOptions = {},
): SigV4Verdict {
  const { path, rawQuery } = splitUrl(req.rawUrl);
  const query = parseQuery(rawQuery);
  const headers = headerMap(req.rawHeaders);

  const authorization = headers.get('authorization');
  const queryNames = new Set(query.map((p) => p.name));
  const presigned = queryNames.has('X-Amz-Algorithm') || queryNames.has('X-Amz-Signature');

  if (authorization && presigned) {
    return fail(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, ' +
        'Signature query string parameter or the Authorization header should be specified',
    );
  }
  if (queryNames.has('Signature') && queryNames.has('AWSAccessKeyId') && !authorization) {
    return UNSUPPORTED_MECHANISM('Signature Version 2 query string');
  }

  let auth: ParsedAuth | Failure;
  if (authorization) {
    auth = parseAuthorizationHeader(authorization, headers);
  } else if (presigned) {
    auth = parsePresignedQuery(query, headers);
  } else {
    if (!options.allowAnonymous) return fail(403, 'AccessDenied', 'Access Denied');
    const payloadHash = headers.get('x-amz-content-sha256')?.[0] ?? 'UNSIGNED-PAYLOAD';
    return { ok: true, accessKeyId: '', payloadHash, anonymous: true };
  }
  if ('ok' in auth) return auth;

  const malformed = auth.presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed';
  const { scope } = auth;
  if (scope.date !== auth.amzDate.slice(0, 8)) {
    return fail(400, malformed, 'Invalid credential date. Date is not the same as X-Amz-Date.');
  }
  if (options.region !== undefined && scope.region !== options.region) {
    return fail(400, malformed, `The region '${scope.region}' is wrong; expecting '${options.region}'`);
  }
  const service = options.service ?? 's3';
  if (scope.service !== service) {
    return fail(400, malformed, `The service '${scope.service}' is wrong; expecting '${service}'`);
  }

  const secret = secretFor(scope.accessKeyId);
  if (secret === undefined) {
    return fail(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }

  const signedAt = parseAmzDate(auth.amzDate);
  if (signedAt === undefined) {
    return fail(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  const skew = signedAt.getTime() - now.getTime();
  if (auth.presigned) {
    if (skew > MAX_SKEW_MS) return fail(403, 'AccessDenied', 'Request is not valid yet');
    if (now.getTime() > signedAt.getTime() + auth.expiresSeconds * 1000) {
      return fail(403, 'AccessDenied', 'Request has expired');
    }
  } else if (Math.abs(skew) > MAX_SKEW_MS) {
    return fail(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
    );
  }

  const signedHeaders = auth.signedHeaders;
  if (!signedHeaders.includes('host')) {
    return fail(400, malformed, 'The host header must be signed (SignedHeaders does not include host).');
  }
  // S3 refuses x-amz-* headers the client did not sign: otherwise anyone on the path could add
  // x-amz-acl, x-amz-server-side-encryption, ... to a signed request.
  const unsignedAmz = [...headers.keys()].filter((h) => h.startsWith('x-amz-') && !signedHeaders.includes(h));
  if (unsignedAmz.length > 0) {
    return fail(
      403,
      'AccessDenied',
      `There were headers present in the request which were not signed: ${unsignedAmz.join(', ')}`,
    );
  }

  const payloadHash = auth.payloadHash;
  if (!HEX_SHA256.test(payloadHash) && !SPECIAL_PAYLOAD_HASHES.has(payloadHash)) {
    return fail(
      400,
      'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, ' +
        'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER ' +
        'or a valid sha256 value.',
    );
  }

  const canonicalQuery = canonicalQueryString(
    auth.presigned ? query.filter((p) => p.name !== 'X-Amz-Signature') : query,
  );
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(headers.get(name) ?? []).map(canonicalHeaderValue).join(',')}\n`)
    .join('');
  const canonicalRequest = [
    req.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');

  const scopeString = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, auth.amzDate, scopeString, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, scope.date);
  for (const part of [scope.region, scope.service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);

  const provided = /^[0-9a-f]{64}$/.test(auth.signature) ? Buffer.from(auth.signature, 'hex') : undefined;
  if (!provided || !timingSafeEqual(provided, expected)) {
    return fail(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your key and signing method.',
    );
  }
  return { ok: true, accessKeyId: scope.accessKeyId, payloadHash };
}

interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

interface ParsedAuth {
  presigned: boolean;
  scope: CredentialScope;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
  expiresSeconds: number;
}

function parseAuthorizationHeader(values: string[], headers: Map<string, string[]>): ParsedAuth | Failure {
  const malformed = (message: string) => fail(400, 'AuthorizationHeaderMalformed', message);
  if (values.length !== 1) return fail(400, 'InvalidArgument', 'Only one Authorization header is allowed');
  const value = (values[0] ?? '').trim();
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm === 'AWS') return UNSUPPORTED_MECHANISM('Signature Version 2');
  if (algorithm === ALGORITHM_V4A) return UNSUPPORTED_MECHANISM(`SigV4A, ${ALGORITHM_V4A}`);
  if (algorithm !== ALGORITHM) return fail(400, 'InvalidArgument', 'Unsupported Authorization Type');

  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) return malformed(`The authorization header is malformed; incorrect component "${item}".`);
    const name = item.slice(0, eq);
    if (fields.has(name)) return malformed(`The authorization header is malformed; repeated ${name}.`);
    fields.set(name, item.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined ||
    fields.size !== 3
  ) {
    return malformed(
      'The authorization header is malformed; it must contain exactly Credential, SignedHeaders and Signature.',
    );
  }
  const scope = parseCredential(credential);
  if (!scope) return malformed(`The authorization header is malformed; invalid credential "${credential}".`);
  const names = parseSignedHeaders(signedHeaders);
  if (!names) return malformed('The authorization header is malformed; invalid SignedHeaders.');

  const amzDate = headers.get('x-amz-date');
  let date: string | undefined;
  if (amzDate) {
    if (amzDate.length !== 1) return fail(400, 'InvalidArgument', 'Only one x-amz-date header is allowed');
    date = amzDate[0];
  } else {
    // SigV4 allows the Date header instead of x-amz-date; the string to sign still uses the ISO form.
    const httpDate = headers.get('date')?.[0];
    const parsed = httpDate === undefined ? Number.NaN : Date.parse(httpDate);
    if (!Number.isNaN(parsed)) date = toAmzDate(new Date(parsed));
  }
  if (date === undefined || !AMZ_DATE.test(date)) {
    return fail(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }

  const payloadHashes = headers.get('x-amz-content-sha256');
  if (!payloadHashes) {
    return fail(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  if (payloadHashes.length !== 1) {
    return fail(400, 'InvalidArgument', 'Only one x-amz-content-sha256 header is allowed');
  }
  return {
    presigned: false,
    scope,
    amzDate: date,
    signedHeaders: names,
    signature,
    payloadHash: payloadHashes[0] ?? '',
    expiresSeconds: 0,
  };
}

function parsePresignedQuery(query: QueryParam[], headers: Map<string, string[]>): ParsedAuth | Failure {
  const malformed = (message: string) => fail(400, 'AuthorizationQueryParametersError', message);
  const values = new Map<string, string>();
  for (const name of PRESIGN_PARAMS) {
    const found = query.filter((p) => p.name === name);
    if (found.length !== 1 || !found[0]) {
      return malformed(
        `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, ` +
          `X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters (exactly once each; ` +
          `${name} is ${found.length === 0 ? 'missing' : 'repeated'}).`,
      );
    }
    values.set(name, found[0].value.toString('utf8'));
  }
  const get = (name: (typeof PRESIGN_PARAMS)[number]) => values.get(name) ?? '';
  const algorithm = get('X-Amz-Algorithm');
  if (algorithm === ALGORITHM_V4A) return UNSUPPORTED_MECHANISM(`SigV4A, ${ALGORITHM_V4A}`);
  if (algorithm !== ALGORITHM) {
    return malformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  }
  const scope = parseCredential(get('X-Amz-Credential'));
  if (!scope) return malformed(`Invalid X-Amz-Credential "${get('X-Amz-Credential')}"`);
  const names = parseSignedHeaders(get('X-Amz-SignedHeaders'));
  if (!names) return malformed('Invalid X-Amz-SignedHeaders');
  const amzDate = get('X-Amz-Date');
  if (!AMZ_DATE.test(amzDate))
    return malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const expiresText = get('X-Amz-Expires');
  const expires = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : Number.NaN;
  if (!(expires >= 1 && expires <= MAX_EXPIRES_S)) {
    return malformed(`X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_EXPIRES_S} (one week)`);
  }
  // A presigned URL carries no payload hash unless the signer put one in the query or a header.
  const headerHash = headers.get('x-amz-content-sha256');
  const queryHash = query.find((p) => p.name === 'X-Amz-Content-Sha256')?.value.toString('utf8');
  return {
    presigned: true,
    scope,
    amzDate,
    signedHeaders: names,
    signature: get('X-Amz-Signature'),
    payloadHash: headerHash?.[0] ?? queryHash ?? 'UNSIGNED-PAYLOAD',
    expiresSeconds: expires,
  };
}

function parseCredential(credential: string): CredentialScope | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5) return undefined;
  const [accessKeyId = '', date = '', region = '', service = '', terminator] = parts;
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service || terminator !== 'aws4_request') {
    return undefined;
  }
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(list: string): string[] | undefined {
  const names = list.split(';');
  // Names must be lower case (the signer lower-cases them); their order is kept, as it is signed.
  if (names.some((n) => n === '' || n !== n.toLowerCase())) return undefined;
  return names;
}

function parseAmzDate(amzDate: string): Date | undefined {
  const m = AMZ_DATE.exec(amzDate);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const t = Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function toAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
