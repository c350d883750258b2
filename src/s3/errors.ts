// Errors Kura answers itself, shaped like S3's REST error responses ("Error responses" in the S3 API
// reference) so that every SDK parses them the way it parses S3's own.
import type { S3ErrorSpec } from './types.js';

export interface S3ErrorBody {
  code: string;
  message: string;
  requestId: string;
  /** The bucket or object concerned, as S3's `<Resource>`. */
  resource?: string;
  hostId?: string;
  /** Further elements (S3 adds e.g. `<Key>`, `<Method>`); names that are not plain XML names are left out. */
  extra?: Record<string, string>;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Element names Kura writes: letters, digits, `_`, `-`, `.`, starting with a letter or `_` (XML §2.3). */
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Values echoed from a request (a Host, a method) are cut so a hostile one cannot bloat the answer. */
const MAX_ECHO_LENGTH = 256;

export function renderS3Error(e: S3ErrorBody): string {
  const elements = [element('Code', e.code), element('Message', e.message)];
  if (e.resource !== undefined) elements.push(element('Resource', e.resource));
  for (const [name, value] of Object.entries(e.extra ?? {})) {
    if (ELEMENT_NAME.test(name)) elements.push(element(name, value));
  }
  elements.push(element('RequestId', e.requestId));
  if (e.hostId !== undefined) elements.push(element('HostId', e.hostId));
  return `${XML_DECLARATION}\n<Error>${elements.join('')}</Error>`;
}

function element(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

/**
 * Escapes markup characters, and replaces with U+FFFD what XML 1.0 cannot carry at all (§2.2: most C0
 * controls, U+FFFE/U+FFFF, unpaired surrogates) — a key or Host can hold them, the document must not.
 */
export function escapeXml(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (isHighSurrogate(code) && isLowSurrogate(value.charCodeAt(i + 1))) {
      out += value.slice(i, i + 2);
      i += 1;
    } else {
      out += escapeUnit(code, value.charAt(i));
    }
  }
  return out;
}

function escapeUnit(code: number, char: string): string {
  switch (char) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case "'":
      return '&apos;';
    case '\r':
      return '&#13;'; // a literal CR would be normalised away by the reader (XML §2.11)
    default:
      return isXmlChar(code) ? char : '\uFFFD';
  }
}

function isXmlChar(code: number): boolean {
  if (code < 0x20) return code === 0x09 || code === 0x0a || code === 0x0d;
  return !(isHighSurrogate(code) || isLowSurrogate(code) || code === 0xfffe || code === 0xffff);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function echo(value: string): string {
  return value.length > MAX_ECHO_LENGTH ? `${value.slice(0, MAX_ECHO_LENGTH)}…` : value;
}

// The catalogue. Codes and messages follow S3's where S3 has one; 502/504 have no S3 equivalent
// (S3 is the origin, not a gateway), so they use the HTTP reason phrase as the code.

export function badRequest(message: string): S3ErrorSpec {
  return { status: 400, code: 'InvalidRequest', message };
}

export function invalidUri(): S3ErrorSpec {
  return { status: 400, code: 'InvalidURI', message: "Couldn't parse the specified URI." };
}

/** S3 reports a malformed request value as InvalidArgument; a Host it cannot route is one of those. */
export function invalidHost(value: string): S3ErrorSpec {
  return { status: 400, code: 'InvalidArgument', message: `Invalid Host: ${JSON.stringify(echo(value))}.` };
}

export function headersTooLarge(): S3ErrorSpec {
  return {
    status: 400,
    code: 'RequestHeaderSectionTooLarge',
    message: 'Your request header section exceeds the maximum allowed size.',
  };
}

export function methodNotAllowed(method: string): S3ErrorSpec {
  return {
    status: 405,
    code: 'MethodNotAllowed',
    message: `The specified method is not allowed against this resource: ${JSON.stringify(echo(method))}.`,
  };
}

/**
 * docs/architecture.md, rule 8: Kura is not an open proxy; the refusal is S3-shaped so clients report it
 * plainly.
 */
export function upstreamRefused(host: string): S3ErrorSpec {
  return {
    status: 403,
    code: 'AccessDenied',
    message: `Kura does not forward to ${JSON.stringify(echo(host))}: it is not an allowed upstream.`,
  };
}

/** `server.allow_clients` leaves this client out: S3 is never asked. */
export function clientRefused(): S3ErrorSpec {
  return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
}

/** S3 itself answers 400 EntityTooLarge; 413 is the status a proxy's own limit warrants. */
export function entityTooLarge(): S3ErrorSpec {
  return {
    status: 413,
    code: 'EntityTooLarge',
    message: 'Your proposed upload exceeds the maximum allowed size.',
  };
}

export function badGateway(detail: string): S3ErrorSpec {
  return { status: 502, code: 'BadGateway', message: `The upstream could not be reached: ${echo(detail)}` };
}

export function gatewayTimeout(detail: string): S3ErrorSpec {
  return {
    status: 504,
    code: 'GatewayTimeout',
    message: `The upstream did not answer in time: ${echo(detail)}`,
  };
}

export function slowDown(): S3ErrorSpec {
  return { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
}

export function notImplemented(message: string): S3ErrorSpec {
  return { status: 501, code: 'NotImplemented', message };
}

/** S3's answer when a body ends before its Content-Length. */
export function incompleteBody(): S3ErrorSpec {
  return {
    status: 400,
    code: 'IncompleteBody',
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header',
  };
}

/** A client slower than `server.header_timeout` with its request headers: S3's wording for an idle socket. */
export function requestTimeout(): S3ErrorSpec {
  return {
    status: 400,
    code: 'RequestTimeout',
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  };
}

/**
 * A body Kura must read whole before forwarding (DeleteObjects, CompleteMultipartUpload) is over its limit.
 */
export function maxMessageLengthExceeded(): S3ErrorSpec {
  return { status: 400, code: 'MaxMessageLengthExceeded', message: 'Your request was too big.' };
}

/** A client conditional that a fresh record answers with 412 (RFC 9110 §13.1.1, §13.1.4). */
export function preconditionFailed(): S3ErrorSpec {
  return {
    status: 412,
    code: 'PreconditionFailed',
    message: 'At least one of the pre-conditions you specified did not hold',
  };
}

/** CONNECT on the TLS listener relays to S3's HTTPS port and nowhere else. */
export function connectPortRefused(port: number | null): S3ErrorSpec {
  return {
    status: 403,
    code: 'AccessDenied',
    message: `Kura relays CONNECT to port 443 only, not ${port ?? '(none)'}`,
  };
}

// Gateway mode (docs/gateway.md#errors-and-cors): Kura authenticates the client and maps paths to
// buckets itself, so these answers are its own, in S3's shape and with S3's codes where S3 has one.

export function accessDenied(message: string): S3ErrorSpec {
  return { status: 403, code: 'AccessDenied', message };
}

/** A route's client authentication found no credential, or one that does not verify. */
export function unauthorized(message: string): S3ErrorSpec {
  return { status: 401, code: 'Unauthorized', message };
}

export function noSuchRoute(): S3ErrorSpec {
  return { status: 404, code: 'NoSuchRoute', message: 'No gateway route serves this path' };
}

export function noSuchKey(message: string): S3ErrorSpec {
  return { status: 404, code: 'NoSuchKey', message };
}

export function invalidPath(message: string): S3ErrorSpec {
  return { status: 400, code: 'InvalidURI', message };
}

export function methodNotAllowedOnRoute(method: string): S3ErrorSpec {
  return { status: 405, code: 'MethodNotAllowed', message: `${method} is not allowed on this route` };
}

export function missingContentLength(): S3ErrorSpec {
  return { status: 411, code: 'MissingContentLength', message: 'An upload needs a Content-Length' };
}

/** A CORS preflight the route's `cors` settings do not allow. */
export function corsForbidden(): S3ErrorSpec {
  return { status: 403, code: 'CORSForbidden', message: 'This CORS request is not allowed' };
}
