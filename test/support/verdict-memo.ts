// Signature verdicts for the in-memory origin, reused for byte-identical requests within one second.

import { type RawRequest, type SigV4Verdict, verifySigV4 } from './sigv4.js';

const ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
const MEMO_LIMIT = 10_000;

/**
 * verifySigV4 costs ~80 µs a request (it derives the signing key every time), too much for a benchmark
 * origin. Its verdict depends only on the request's bytes and on the clock through whole-second bounds
 * (X-Amz-Date, X-Amz-Expires, the 15-minute skew), so a verdict is reused for the same bytes within the
 * same second: at most one millisecond off at a bound.
 */
export class VerdictMemo {
  private second = Number.NaN;
  private readonly verdicts = new Map<string, SigV4Verdict>();

  constructor(
    private readonly allowAnonymous: boolean,
    /** Access key → secret of users besides S3RVER. */
    private readonly others: ReadonlyMap<string, string> = new Map(),
  ) {}

  verify(req: RawRequest): SigV4Verdict {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.verdicts.clear();
    }
    // Header values cannot hold a newline, so the key is unambiguous.
    const key = `${req.method} ${req.rawUrl}\n${req.rawHeaders.join('\n')}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = verifySigV4(
        req,
        (id) => (id === ACCESS_KEY ? ACCESS_KEY : this.others.get(id)),
        new Date(now),
        {
          allowAnonymous: this.allowAnonymous,
          region: REGION,
        },
      );
      if (this.verdicts.size < MEMO_LIMIT) this.verdicts.set(key, verdict);
    }
    return verdict;
  }
}
