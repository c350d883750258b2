// The head of an HTTP/1.1 response (RFC 9112 §4, §5, §6), read from the bytes a plain-TCP origin sent:
// status, raw header pairs as sent, and how the body is framed. Anything that is not a well-formed
// response is refused, since the bytes after it could not be trusted to be the answer's.

/** Longest head accepted: S3's heads are a few hundred bytes; undici's default limit is 16 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  status: number;
  statusText: string;
  /** Flat `[name, value, …]` as the origin sent them. */
  headers: string[];
  /**
   * How the body ends: `length` bytes, chunked framing, or the connection's close (a response with
   * neither header, RFC 9112 §6.3 rule 8). A response to HEAD, 1xx, 204 and 304 has no body whatever the
   * headers say: the caller decides that.
   */
  body: { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };
  /** The origin closes the connection after this answer (`Connection: close`, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Bytes the head took, its blank line included. */
  headBytes: number;
}

export class MalformedResponseError extends Error {
  readonly code = 'UND_ERR_SOCKET';
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses the head in `buf[0, end)`: null while the blank line that ends it has not arrived. Throws a
 * MalformedResponseError for anything that breaks the grammar or frames the body ambiguously.
 */
export function parseResponseHead(buf: Buffer, end: number): ResponseHead | null {
  const stop = buf.subarray(0, end).indexOf('\r\n\r\n', 0, 'latin1');
  if (stop < 0) {
    if (end >= MAX_HEAD_BYTES) throw new MalformedResponseError('response head too large');
    return null;
  }
  const lines = buf.toString('latin1', 0, stop).split('\r\n');
  const statusLine = STATUS_LINE.exec(lines[0] ?? '');
  if (!statusLine) throw new MalformedResponseError('malformed status line');
  const minor = statusLine[1] as string;
  const status = Number(statusLine[2]);
  const headers: string[] = [];
  let length: number | null = null;
  let chunked = false;
  let otherCoding = false;
  let close = minor === '0';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new MalformedResponseError('malformed header line');
    const value = line.slice(colon + 1).trim();
    headers.push(name, value);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) {
        throw new MalformedResponseError('bad Content-Length');
      }
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      for (const coding of value.toLowerCase().split(',')) {
        if (coding.trim() === 'chunked') chunked = true;
        else if (coding.trim() !== '') otherCoding = true;
      }
    } else if (lower === 'connection') {
      const options = value
        .toLowerCase()
        .split(',')
        .map((o) => o.trim());
      if (options.includes('close')) close = true;
      else if (minor === '0' && options.includes('keep-alive')) close = false;
    }
  }
  // Both framings at once is how responses are smuggled (RFC 9112 §6.1): refused, like undici does.
  if (chunked && length !== null)
    throw new MalformedResponseError('both Transfer-Encoding and Content-Length');
  if (otherCoding && !chunked) throw new MalformedResponseError('unsupported Transfer-Encoding');
  const body: ResponseHead['body'] = chunked
    ? { kind: 'chunked' }
    : length !== null
      ? { kind: 'length', length }
      : { kind: 'close' };
  return {
    status,
    statusText: statusLine[3] ?? '',
    headers,
    body,
    close,
    headBytes: stop + 4,
  };
}

/** Whether a response to `method` with `status` carries a body (RFC 9110 §6.4.1). */
export function hasResponseBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

/**
 * The object offset of a body's first byte: 0 for a 200, the first position of a 206's Content-Range.
 * Only where the body's buffers start on the chunk grid depends on it, never what bytes are read.
 */
export function bodyOffset(status: number, headers: readonly string[]): number {
  if (status !== 206) return 0;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'content-range') continue;
    const m = /^bytes (\d{1,15})-/.exec(headers[i + 1] as string);
    return m ? Number(m[1]) : 0;
  }
  return 0;
}
