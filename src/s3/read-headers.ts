// The request fields that decide how a GET or HEAD is read from the cache, found in one pass over Node's
// raw header array. A hit consults a dozen of them (bypasses, conditionals, revalidation, the range, the
// checksum mode): looked up one by one, an SDK's ten or so headers were gone through about fifteen times
// per request.

/** Every value of each field, in order as sent; a field not sent has none. */
export interface ReadHeaders {
  range: readonly string[];
  ifMatch: readonly string[];
  ifNoneMatch: readonly string[];
  ifModifiedSince: readonly string[];
  ifUnmodifiedSince: readonly string[];
  ifRange: readonly string[];
  cacheControl: readonly string[];
  pragma: readonly string[];
  checksumMode: readonly string[];
  /** Whether any `x-amz-server-side-encryption-customer-*` field was sent (SSE-C). */
  sseC: boolean;
  expectedBucketOwner: boolean;
  requestPayer: boolean;
}

export const SSE_C_PREFIX = 'x-amz-server-side-encryption-customer-';

/** Shared by every field not sent; never added to (`add` makes a list of its own). */
const NONE: readonly string[] = Object.freeze([]);

/** Field names are case-insensitive (RFC 9110 §5.1); most clients send them in lower case. */
function named(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

function add(values: readonly string[], value: string): readonly string[] {
  return values === NONE ? [value] : [...values, value];
}

export function readHeadersOf(raw: readonly string[]): ReadHeaders {
  const h = {
    range: NONE,
    ifMatch: NONE,
    ifNoneMatch: NONE,
    ifModifiedSince: NONE,
    ifUnmodifiedSince: NONE,
    ifRange: NONE,
    cacheControl: NONE,
    pragma: NONE,
    checksumMode: NONE,
    sseC: false,
    expectedBucketOwner: false,
    requestPayer: false,
  };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    // By length first: a name is lower-cased only when it may be one of these.
    switch (name.length) {
      case 5:
        if (named(name, 'range')) h.range = add(h.range, value);
        break;
      case 6:
        if (named(name, 'pragma')) h.pragma = add(h.pragma, value);
        break;
      case 8:
        if (named(name, 'if-match')) h.ifMatch = add(h.ifMatch, value);
        else if (named(name, 'if-range')) h.ifRange = add(h.ifRange, value);
        break;
      case 13:
        if (named(name, 'cache-control')) h.cacheControl = add(h.cacheControl, value);
        else if (named(name, 'if-none-match')) h.ifNoneMatch = add(h.ifNoneMatch, value);
        break;
      case 17:
        if (named(name, 'if-modified-since')) h.ifModifiedSince = add(h.ifModifiedSince, value);
        break;
      case 19:
        if (named(name, 'if-unmodified-since')) h.ifUnmodifiedSince = add(h.ifUnmodifiedSince, value);
        else if (named(name, 'x-amz-checksum-mode')) h.checksumMode = add(h.checksumMode, value);
        else if (named(name, 'x-amz-request-payer')) h.requestPayer = true;
        break;
      case 27:
        if (named(name, 'x-amz-expected-bucket-owner')) h.expectedBucketOwner = true;
        break;
      default:
        if (
          name.length >= SSE_C_PREFIX.length &&
          name.slice(0, SSE_C_PREFIX.length).toLowerCase() === SSE_C_PREFIX
        ) {
          h.sseC = true;
        }
    }
  }
  return h;
}
