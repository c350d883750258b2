// The canonical forms SigV4 signs: query, header values, and the AWS percent-encoding, rebuilt from the
// raw request (one char per received byte, latin1) without trusting any library's normalisation.

import { createHash, createHmac } from 'node:crypto';

export function splitUrl(rawUrl: string): { path: string; rawQuery: string } {
  let url = rawUrl;
  // Absolute form (`GET http://host/path HTTP/1.1`, as sent to forward proxies): the path starts after
  // the authority.
  const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (absolute) url = url.slice(absolute[0].length) || '/';
  const q = url.indexOf('?');
  return q < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

export interface QueryParam {
  name: string;
  value: Buffer;
  encodedName: string;
  encodedValue: string;
}

export function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = percentDecode(rawName);
    const value = percentDecode(rawValue);
    params.push({
      name: name.toString('utf8'),
      value,
      encodedName: awsEncode(name),
      encodedValue: awsEncode(value),
    });
  }
  return params;
}

export function canonicalQueryString(params: QueryParam[]): string {
  return params
    .map((p) => [p.encodedName, p.encodedValue] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/**
 * Query decoding as S3 does it: `%XX` becomes a byte, and `+` a space (S3 accepts `+` for a space in the
 * query, and so does s3rver, through `querystring.parse`). A `%` not followed by two hex digits stays as is.
 */
export function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b) {
      bytes.push(0x20);
    } else if (c <= 0xff) {
      bytes.push(c);
    } else {
      // Not a byte (only possible when a caller passes a decoded JS string): take its UTF-8 form.
      const cp = text.codePointAt(i) ?? c;
      bytes.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      if (cp > 0xffff) i++;
    }
  }
  return Buffer.from(bytes);
}

/** SigV4 URI encoding: RFC 3986 unreserved characters kept, every other byte as uppercase %XX. */
export function awsEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x61 && b <= 0x7a) ||
      (b >= 0x30 && b <= 0x39) ||
      b === 0x2d ||
      b === 0x5f ||
      b === 0x2e ||
      b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function headerMap(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    // Node's parser already strips surrounding whitespace; a direct caller's value may still carry it.
    const value = (rawHeaders[i + 1] ?? '').replace(/^[ \t]+|[ \t]+$/g, '');
    const list = map.get(name);
    if (list) list.push(value);
    else map.set(name, [value]);
  }
  return map;
}

export function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

// The canonical request holds raw bytes as latin1 chars (path, header values), so hash it as latin1; a
// char above U+00FF cannot come from the wire, only from a direct caller, and is taken as UTF-8.
export function bytesOf(text: string): Buffer {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  return /^[\u0000-\u00ff]*$/.test(text) ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(bytesOf(text)).digest('hex');
}

export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .update(bytesOf(data))
    .digest();
}
