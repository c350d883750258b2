// Client conditional requests (RFC 9110 §13) answered from a cached record: 304 and 412 exactly where S3
// would give them, and `forward` wherever Kura cannot be sure what S3 would say. Never guessed.
import { parseHttpDate } from './http-date.js';
import type { ReadHeaders } from './read-headers.js';

/** The precondition fields of a request, read but not yet judged. */
export interface Conditionals {
  /** `['*']` or the list elements as sent (each still quoted); malformed elements are kept, and judged. */
  ifMatch: string[] | null;
  ifNoneMatch: string[] | null;
  /** `null` when absent, not an HTTP-date, or sent more than once (§13.1.3: such a field is ignored). */
  ifModifiedSince: Date | null;
  ifUnmodifiedSince: Date | null;
  /** The field as sent, and only when a Range is sent too: If-Range without Range is ignored (§13.1.5). */
  ifRange: string | null;
}

/** What Kura knows of the cached representation. */
export interface Validators {
  /** Quoted, as S3 sends it: `"9b2cf535f27731c974343645a3985328"`. */
  etag: string;
  /** HTTP-date, as S3 sends it; `null` when the record has none. */
  lastModified: string | null;
}

export type ConditionalOutcome =
  | { kind: 'proceed' }
  | { kind: 'not-modified' }
  | { kind: 'precondition-failed' }
  /** S3 must answer: the request asks something Kura cannot decide exactly from the record. */
  | { kind: 'forward'; reason: string };

const PROCEED: ConditionalOutcome = { kind: 'proceed' };
const NOT_MODIFIED: ConditionalOutcome = { kind: 'not-modified' };
const PRECONDITION_FAILED: ConditionalOutcome = { kind: 'precondition-failed' };

/** RFC 9110 §8.8.3: `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`, `etagc = %x21 / %x23-7E / obs-text`. */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

export function readConditionals(headers: ReadHeaders): Conditionals {
  return {
    ifMatch: readEntityTagList(headers.ifMatch),
    ifNoneMatch: readEntityTagList(headers.ifNoneMatch),
    ifModifiedSince: readSingleDate(headers.ifModifiedSince),
    ifUnmodifiedSince: readSingleDate(headers.ifUnmodifiedSince),
    ifRange: readIfRange(headers),
  };
}

export function hasConditionals(c: Conditionals): boolean {
  return (
    c.ifMatch !== null ||
    c.ifNoneMatch !== null ||
    c.ifModifiedSince !== null ||
    c.ifUnmodifiedSince !== null ||
    c.ifRange !== null
  );
}

/**
 * RFC 9110 §13.2.2, in its order: If-Match, else If-Unmodified-Since (412); If-None-Match, else
 * If-Modified-Since (304 for GET and HEAD). S3's GetObject documentation gives the same precedence.
 */
export function evaluateConditionals(
  c: Conditionals,
  v: Validators,
  method: 'GET' | 'HEAD',
): ConditionalOutcome {
  // S3 does not document If-Range, so Kura does not decide any part of a request that carries it.
  if (c.ifRange !== null) return { kind: 'forward', reason: 'If-Range' };
  const lastModified = v.lastModified === null ? null : parseHttpDate(v.lastModified);
  return (
    preconditionFailure(c, v.etag, lastModified) ??
    notModifiedOutcome(c, v.etag, lastModified, method) ??
    PROCEED
  );
}

/** §13.2.2 steps 1–2: a false If-Match, or (without If-Match) a false If-Unmodified-Since, is 412. */
function preconditionFailure(
  c: Conditionals,
  etag: string,
  lastModified: Date | null,
): ConditionalOutcome | null {
  if (c.ifMatch !== null) {
    const matched = listMatches(c.ifMatch, etag, etagStrongMatch);
    if (matched === undefined) return { kind: 'forward', reason: 'If-Match is not a list of entity-tags' };
    return matched ? null : PRECONDITION_FAILED;
  }
  if (c.ifUnmodifiedSince !== null) {
    if (lastModified === null) return { kind: 'forward', reason: 'no Last-Modified for If-Unmodified-Since' };
    return modifiedSince(lastModified, c.ifUnmodifiedSince) ? PRECONDITION_FAILED : null;
  }
  return null;
}

/** §13.2.2 steps 3–4: a false If-None-Match, or (without it) a false If-Modified-Since, is 304. */
function notModifiedOutcome(
  c: Conditionals,
  etag: string,
  lastModified: Date | null,
  method: 'GET' | 'HEAD',
): ConditionalOutcome | null {
  if (c.ifNoneMatch !== null) {
    const matched = listMatches(c.ifNoneMatch, etag, etagWeakMatch);
    if (matched === undefined)
      return { kind: 'forward', reason: 'If-None-Match is not a list of entity-tags' };
    return matched ? noneMatchFailed(method) : null;
  }
  if (c.ifModifiedSince !== null) {
    if (lastModified === null) return { kind: 'forward', reason: 'no Last-Modified for If-Modified-Since' };
    return modifiedSince(lastModified, c.ifModifiedSince) ? null : NOT_MODIFIED;
  }
  return null;
}

/** §13.1.2: a false If-None-Match is 304 for GET and HEAD, 412 for any other method. */
function noneMatchFailed(method: string): ConditionalOutcome {
  return method === 'GET' || method === 'HEAD' ? NOT_MODIFIED : PRECONDITION_FAILED;
}

/**
 * §13.1.1/§13.1.2: `*` matches any current representation (a record exists, so it does); otherwise any
 * element that compares equal. `undefined` when the field is not `*` or a list of entity-tags, or the
 * cached ETag is not one either: S3 may read such input its own way, so S3 must answer.
 */
function listMatches(
  list: readonly string[],
  etag: string,
  compare: (a: string, b: string) => boolean,
): boolean | undefined {
  if (list.length === 1 && list[0] === '*') return true;
  if (list.length === 0 || !list.every(isEntityTag) || !isEntityTag(etag)) return undefined;
  return list.some((element) => compare(element, etag));
}

/** §13.1.3/§13.1.4: HTTP-dates have one-second resolution, so compare whole seconds. */
function modifiedSince(lastModified: Date, since: Date): boolean {
  return Math.floor(lastModified.getTime() / 1000) > Math.floor(since.getTime() / 1000);
}

export function isEntityTag(text: string): boolean {
  return ENTITY_TAG.test(text);
}

/** §8.8.3.2 strong comparison: neither is weak and the opaque-tags are identical. */
export function etagStrongMatch(a: string, b: string): boolean {
  return !isWeak(a) && !isWeak(b) && a === b;
}

/** §8.8.3.2 weak comparison: the opaque-tags are identical, whether or not either is marked weak. */
export function etagWeakMatch(a: string, b: string): boolean {
  return opaqueTag(a) === opaqueTag(b);
}

function isWeak(etag: string): boolean {
  return etag.startsWith('W/');
}

function opaqueTag(etag: string): string {
  return isWeak(etag) ? etag.slice(2) : etag;
}

/**
 * §13.1.1: `"*" / #entity-tag`, possibly over several field lines (§5.3). A comma inside quotes belongs
 * to the tag (`"a,b"` is one element), and empty elements are skipped (§5.6.1). `null` when absent.
 */
function readEntityTagList(values: readonly string[]): string[] | null {
  if (values.length === 0) return null;
  return values.flatMap(splitEntityTagList);
}

function splitEntityTagList(value: string): string[] {
  const elements: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && isListSeparator(value.charCodeAt(i))) i += 1;
    if (i >= value.length) break;
    const start = i;
    let quoted = false;
    for (; i < value.length; i += 1) {
      const char = value[i];
      if (char === '"') quoted = !quoted;
      else if (char === ',' && !quoted) break;
    }
    const element = trimOws(value.slice(start, i));
    if (element !== '') elements.push(element);
  }
  return elements;
}

/** Comma, space or tab: what may stand between list elements (§5.6.1). */
function isListSeparator(code: number): boolean {
  return code === 0x2c || isOws(code);
}

/** §5.6.3 OWS is spaces and tabs; a loop, because a regex here backtracks on long runs. */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start += 1;
  while (end > start && isOws(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** §13.1.5: If-Range counts only beside a Range; S3 reads Range on HEAD too, so the method does not matter. */
function readIfRange(headers: ReadHeaders): string | null {
  const [value] = headers.ifRange;
  return headers.range.length === 0 || value === undefined ? null : trimOws(value);
}

/** §13.1.3/§13.1.4: a date that is not a single valid HTTP-date is ignored. */
function readSingleDate(values: readonly string[]): Date | null {
  const [only] = values;
  if (only === undefined || values.length > 1) return null;
  return parseHttpDate(trimOws(only));
}
