// Whether a signature is current: the checks of time S3 makes before it looks at the signature itself.
// S3 refuses a header-signed request dated more than 15 minutes from its clock (RequestTimeTooSkewed),
// and a presigned URL past its expiry; a SigV4 credential scope names the day of the request's date.

import { headerValue } from './headers.js';
import { parseHttpDate } from './http-date.js';
import type { SignatureFacts } from './types.js';

/** S3's allowed clock skew. */
const SKEW_MS = 15 * 60_000;

/**
 * True when nothing about time makes S3 refuse this signature now. Anonymous and unreadable signatures
 * are not current: there is nothing to check.
 */
export function isSignatureCurrent(sig: SignatureFacts, rawHeaders: readonly string[], now: number): boolean {
  switch (sig.kind) {
    case 'anonymous':
    case 'unreadable':
      return false;
    case 'sigv2':
      return sig.location === 'query'
        ? sig.expiresAt !== null && now < sig.expiresAt.getTime()
        : withinSkew(v2Date(rawHeaders, now), now);
    default: {
      if (sig.date === null || sig.scope.date !== dayOf(sig.date)) return false;
      if (sig.location === 'header') return withinSkew(sig.date, now);
      return sig.date.getTime() - SKEW_MS <= now && sig.expiresAt !== null && now < sig.expiresAt.getTime();
    }
  }
}

/** SigV2 signs `x-amz-date` when present, else `Date`. */
function v2Date(rawHeaders: readonly string[], now: number): Date | null {
  const text = headerValue(rawHeaders, 'x-amz-date') ?? headerValue(rawHeaders, 'date');
  return text === undefined ? null : parseHttpDate(text, now);
}

function withinSkew(date: Date | null, now: number): boolean {
  return date !== null && Math.abs(now - date.getTime()) <= SKEW_MS;
}

/** `YYYYMMDD` of an instant, in UTC: the first field of a SigV4 credential scope. */
function dayOf(date: Date): string {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + 1;
  const d = date.getUTCDate();
  return `${String(y).padStart(4, '0')}${m < 10 ? '0' : ''}${m}${d < 10 ? '0' : ''}${d}`;
}
