// The Last-Modified of a version written through Kura, learned at no body cost when S3's 304 does not
// carry it (RFC 9110 §15.4.5 allows that; Ceph RGW and s3rver send none).
//
// S3's answer to a write carries no Last-Modified (cache/record-headers.ts, uploadRecord), yet every GET
// answer S3 gives has one. The client's own request, with `If-None-Match: <etag>` and
// `If-Unmodified-Since: T` added, tells which side of T it lies on: S3 evaluates If-Unmodified-Since first
// (RFC 9110 §13.2.2) and answers 412 when Last-Modified is after T, else 304 for the version it still
// holds. HTTP dates are whole seconds, so a search over T finds the exact value. It starts where the
// upload was committed, in S3's clock (the 304's Date against this instance's clock), so an object read
// back at any time after its upload costs two such requests; a Last-Modified beyond the search's reach
// (or an S3 that ignores If-Unmodified-Since) leaves it to a whole refetch, as before.

import { headerValue } from '../../s3/headers.js';
import type { ObjectRecord } from '../../store/types.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import type { Exchange, PassOptions } from '../exchange/exchange.js';
import { askS3, discard } from '../exchange/origin-fetch.js';

/**
 * The search looks at most 2^GALLOP - 1 seconds away from the guess (about 4 minutes: an upload's
 * Last-Modified may be when it began), then halves: at most 2 × GALLOP conditional requests. An S3 that
 * ignores If-Unmodified-Since (s3rver) answers 304 to all, and costs GALLOP + 1 before the fill.
 */
const GALLOP = 8;
const MAX_PROBES = 2 * GALLOP;

export type Learned =
  | { kind: 'found'; lastModified: string }
  /** S3 answered something else than 304 or 412: the version changed, or the request is refused. */
  | { kind: 'answer'; res: UpstreamResponse }
  /** Not found within the bound, or S3 could not be asked: a fill decides. */
  | { kind: 'unknown' };

/** `notModified` is the 304 S3 just gave the client's request for `record`'s version. */
export async function learnLastModified(
  ex: Exchange,
  opts: PassOptions,
  record: ObjectRecord,
  notModified: readonly string[],
): Promise<Learned> {
  const now = Date.now();
  const s3Date = Date.parse(headerValue(notModified, 'date') ?? '');
  const skew = Number.isNaN(s3Date) ? 0 : s3Date - now;
  const guess = Math.floor((record.createdAt + skew) / 1000);
  // lo < Last-Modified ≤ hi, in seconds; null while unbounded on that side.
  let lo: number | null = null;
  let hi: number | null = null;
  let step = 1;
  let t = guess;
  for (let probes = 0; probes < MAX_PROBES; probes++) {
    const asked = await askS3(ex, opts, {
      ifNoneMatch: record.etag,
      ifUnmodifiedSince: new Date(t * 1000).toUTCString(),
    });
    if (!asked.ok) return { kind: 'unknown' };
    const { res } = asked;
    if (res.status !== 304 && res.status !== 412) return { kind: 'answer', res };
    discard(res);
    if (res.status === 412) lo = t;
    else hi = t;
    if (lo !== null && hi !== null && hi - lo === 1) {
      return { kind: 'found', lastModified: new Date(hi * 1000).toUTCString() };
    }
    if (lo !== null && hi !== null) t = lo + Math.floor((hi - lo) / 2);
    else {
      // Gallop away from the guess until the other side is found.
      if (step >= 2 ** GALLOP) return { kind: 'unknown' };
      t = lo === null ? t - step : t + step;
      step *= 2;
    }
  }
  return { kind: 'unknown' };
}
