// The Range header (RFC 9110 §14.1–14.4), as far as a cache needs it: which bytes were asked for, and
// which of them exist in a representation of a given size.
import type { ByteRangeSpec, RangeHeader, ResolvedRange } from './types.js';

const INVALID: RangeHeader = { kind: 'invalid' };

/** `1*DIGIT`: no sign, exponent, separator or whitespace. */
const DIGITS = /^[0-9]+$/;

/**
 * RFC 9110 §14.1.1: `ranges-specifier = range-unit "=" range-set`, `range-set = 1#range-spec`. The
 * range unit is case-insensitive (§14.1), list elements may be empty and padded with OWS (§5.6.1), and no
 * whitespace is allowed inside a range-spec.
 */
export function parseRange(value: string | undefined): RangeHeader | null {
  if (value === undefined) return null;
  const simple = simpleRange(value);
  if (simple !== null) return simple;
  const equals = value.indexOf('=');
  if (equals === -1 || trimOws(value.slice(0, equals), 'start').toLowerCase() !== 'bytes') return INVALID;
  const specs: ByteRangeSpec[] = [];
  for (const element of value.slice(equals + 1).split(',')) {
    const text = trimOws(element);
    if (text === '') continue;
    const spec = parseRangeSpec(text);
    if (spec === null) return INVALID;
    specs.push(spec);
  }
  const [first] = specs;
  if (first === undefined) return INVALID;
  return specs.length === 1 ? { kind: 'single', spec: first } : { kind: 'multiple', specs };
}

/** Digits of a position read by `simpleRange`: at most 10^15 - 1, well within a safe integer. */
const SIMPLE_DIGITS = 15;

/**
 * The form engines and SDKs send, `bytes=first-last`, `bytes=first-` or `bytes=-suffix`, read without
 * slicing or a regex (a ranged hit reads its Range twice); null for anything else, which the full parse
 * reads.
 */
function simpleRange(value: string): RangeHeader | null {
  if (!value.startsWith('bytes=')) return null;
  let at = 6;
  const firstAt = at;
  let first = 0;
  for (let c = value.charCodeAt(at); c >= 0x30 && c <= 0x39; c = value.charCodeAt(++at))
    first = first * 10 + c - 0x30;
  const firstDigits = at - firstAt;
  if (firstDigits > SIMPLE_DIGITS || value.charCodeAt(at) !== 0x2d) return null;
  const lastAt = ++at;
  let last = 0;
  for (let c = value.charCodeAt(at); c >= 0x30 && c <= 0x39; c = value.charCodeAt(++at))
    last = last * 10 + c - 0x30;
  const lastDigits = at - lastAt;
  if (at !== value.length || lastDigits > SIMPLE_DIGITS) return null;
  if (firstDigits === 0)
    return lastDigits === 0 ? null : { kind: 'single', spec: { kind: 'suffix', length: last } };
  if (lastDigits === 0) return { kind: 'single', spec: { kind: 'from', first } };
  return last < first ? null : { kind: 'single', spec: { kind: 'bounded', first, last } };
}

/** RFC 9110 §5.6.3: OWS is spaces and tabs only; a loop, because a regex here backtracks on long runs. */
function trimOws(text: string, side: 'start' | 'both' = 'both'): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start += 1;
  while (side === 'both' && end > start && isOws(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** `first-last`, `first-` or `-suffix`; a `first` beyond `last` makes the whole header invalid (§14.1.1). */
function parseRangeSpec(text: string): ByteRangeSpec | null {
  const dash = text.indexOf('-');
  if (dash === -1) return null;
  const firstText = text.slice(0, dash);
  const lastText = text.slice(dash + 1);
  if (firstText === '') {
    const length = parsePosition(lastText);
    return length === null ? null : { kind: 'suffix', length };
  }
  const first = parsePosition(firstText);
  if (first === null) return null;
  if (lastText === '') return { kind: 'from', first };
  const last = parsePosition(lastText);
  if (last === null || last < first) return null;
  return { kind: 'bounded', first, last };
}

/** Beyond 2^53 a JS number cannot hold the position exactly, so it cannot be served exactly either. */
function parsePosition(text: string): number | null {
  if (!DIGITS.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * The bytes a spec selects from a representation of `size` bytes (RFC 9110 §14.1.2), or `null` when it
 * selects none (unsatisfiable, answered with 416): a first position at or past the end, a zero suffix,
 * or anything from an empty representation. A last position past the end is clipped to it, and a
 * suffix longer than the representation selects all of it.
 */
export function resolveRange(spec: ByteRangeSpec, size: number): ResolvedRange | null {
  if (size <= 0) return null;
  switch (spec.kind) {
    case 'bounded':
      return spec.first < size ? { start: spec.first, end: Math.min(spec.last, size - 1) } : null;
    case 'from':
      return spec.first < size ? { start: spec.first, end: size - 1 } : null;
    case 'suffix':
      return spec.length > 0 ? { start: Math.max(0, size - spec.length), end: size - 1 } : null;
  }
}

/** `Content-Range` of a 206 (RFC 9110 §14.4): `bytes 0-99/1000`. */
export function contentRange(r: ResolvedRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}
