// Request-target splitting (RFC 9112 §3.2) and S3's reading of the query. The raw pieces are kept as
// received because they are forwarded byte for byte; decoding is only for Kura's own decisions.
import type { QueryParam } from './types.js';

export interface SplitTarget {
  /** Path as received, always starting with `/`; `/` when an absolute-form target had none. */
  rawPath: string;
  /** Everything after the first `?`, as received; `null` when there was no `?`. */
  rawQuery: string | null;
  /** The authority of an absolute-form target (RFC 9112 §3.2.2); `null` for origin-form. */
  authority: string | null;
  /** The absolute-form target's scheme, lowercased; `null` for origin-form. */
  scheme: 'http' | 'https' | null;
}

/** `http://` or `https://`, scheme case-insensitive (RFC 3986 §3.1). */
const ABSOLUTE_PREFIX = /^https?:\/\//i;

/**
 * Visible ASCII except `#`: a request-target has no fragment (RFC 9112 §3.2), and bytes outside ASCII or
 * controls cannot be forwarded without deciding an encoding for them.
 */
const TARGET_CHARS = /^[\x21-\x22\x24-\x7e]*$/;

export function splitTarget(target: string): SplitTarget | null {
  if (!TARGET_CHARS.test(target)) return null;
  if (target.startsWith('/')) return { ...splitPathAndQuery(target), authority: null, scheme: null };
  const scheme = ABSOLUTE_PREFIX.exec(target);
  if (scheme === null) return null; // `*` (asterisk-form) and authority-form are not S3 requests
  const rest = target.slice(scheme[0].length);
  const end = firstIndexOf(rest, ['/', '?']);
  const authority = rest.slice(0, end);
  const pathAndQuery = rest.slice(end);
  const split = splitPathAndQuery(pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`);
  const name = scheme[0].slice(0, -3).toLowerCase() === 'https' ? 'https' : 'http';
  return { ...split, authority, scheme: name };
}

function splitPathAndQuery(pathAndQuery: string): { rawPath: string; rawQuery: string | null } {
  const mark = pathAndQuery.indexOf('?');
  if (mark === -1) return { rawPath: pathAndQuery, rawQuery: null };
  return { rawPath: pathAndQuery.slice(0, mark), rawQuery: pathAndQuery.slice(mark + 1) };
}

function firstIndexOf(text: string, needles: readonly string[]): number {
  let first = text.length;
  for (const needle of needles) {
    const at = text.indexOf(needle);
    if (at !== -1 && at < first) first = at;
  }
  return first;
}

/**
 * S3 splits on `&` and the first `=`, and decodes `%XX` as UTF-8 without turning `+` into a space
 * (it is not form encoding). Empty pieces (`a&&b`, a trailing `&`) name nothing and are skipped.
 */
export function parseQuery(rawQuery: string | null): QueryParam[] | null {
  if (rawQuery === null) return [];
  const params: QueryParam[] = [];
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    const name = percentDecode(equals === -1 ? piece : piece.slice(0, equals));
    const value = equals === -1 ? '' : percentDecode(piece.slice(equals + 1));
    if (name === null || value === null) return null;
    params.push({ name, value });
  }
  return params;
}

/**
 * Decodes `%XX` escapes as UTF-8 (RFC 3986 §2.1, §2.5); `null` for a stray `%`, a bad hex digit, or bytes
 * that are not UTF-8 — S3 answers those with InvalidURI, so Kura must not guess a key from them.
 */
export function percentDecode(s: string): string | null {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
