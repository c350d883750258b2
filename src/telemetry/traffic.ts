// What passed through the listeners, counted where each request ends: requests by operation and
// X-Cache, wire bytes to and from clients, requests in flight. The metrics observe these numbers.

/**
 * The X-Cache value of a response, or `NONE` when none was sent (a request the cache had no part in, or
 * one Kura answered itself). The cache's outcome of a read carries it (src/cache/exchange/outcome.ts).
 */
export type CacheResult = 'HIT' | 'REVALIDATED' | 'MISS' | 'PARTIAL' | 'BYPASS' | 'NONE';

export class TrafficStats {
  /**
   * Ended requests by operation, then result. Two maps rather than one keyed by a joined text: the names
   * are constants, which a map finds at once, while a text made per request costs it a string-table lookup.
   */
  readonly requests = new Map<string, Map<CacheResult, number>>();
  /** Bytes on client connections, headers included. */
  clientBytesIn = 0;
  clientBytesOut = 0;
  /** Body bytes of S3 answers streamed through unchanged (the pass state). */
  passBytesFromS3 = 0;
  /** Requests received whose access-log line is not written yet. */
  active = 0;

  ended(operation: string, result: CacheResult): void {
    let byResult = this.requests.get(operation);
    if (byResult === undefined) {
      byResult = new Map();
      this.requests.set(operation, byResult);
    }
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
  }

  /** Requests by operation and result, as `[operation, result, count]`. */
  *requestCounts(): Iterable<[string, CacheResult, number]> {
    for (const [op, byResult] of this.requests) {
      for (const [result, n] of byResult) yield [op, result, n];
    }
  }

  toJSON(): Record<string, unknown> {
    const byResult: Record<string, number> = {};
    const byOperation: Record<string, number> = {};
    for (const [op, result, n] of this.requestCounts()) {
      byResult[result] = (byResult[result] ?? 0) + n;
      byOperation[op] = (byOperation[op] ?? 0) + n;
    }
    return {
      byResult,
      byOperation,
      active: this.active,
      clientBytesIn: this.clientBytesIn,
      clientBytesOut: this.clientBytesOut,
      passBytesFromS3: this.passBytesFromS3,
    };
  }
}
