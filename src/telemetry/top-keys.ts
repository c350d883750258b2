// The most requested keys since start, for the dashboard. Bounded: when the table doubles past its
// limit, the least requested half is dropped, so a scan over millions of keys costs a fixed memory.

export interface KeyCount {
  bucket: string;
  key: string;
  requests: number;
  /** Requests answered from the cache (X-Cache HIT or REVALIDATED). */
  hits: number;
  bytes: number;
}

export class TopKeys {
  /** By bucket, then key: no text joined per request for a map to look up (traffic.ts says why). */
  readonly #counts = new Map<string, Map<string, KeyCount>>();
  #size = 0;
  readonly #limit: number;

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  add(bucket: string, key: string, bytes: number, hit: boolean): void {
    let keys = this.#counts.get(bucket);
    if (keys === undefined) {
      keys = new Map();
      this.#counts.set(bucket, keys);
    }
    let c = keys.get(key);
    if (!c) {
      c = { bucket, key, requests: 0, hits: 0, bytes: 0 };
      keys.set(key, c);
      this.#size += 1;
      if (this.#size > 2 * this.#limit) this.#trim();
    }
    c.requests += 1;
    c.bytes += bytes;
    if (hit) c.hits += 1;
  }

  top(n: number): KeyCount[] {
    return [...this.#counts.values()]
      .flatMap((keys) => [...keys.values()])
      .sort((a, b) => b.requests - a.requests || b.bytes - a.bytes)
      .slice(0, n);
  }

  #trim(): void {
    const kept = this.top(this.#limit);
    this.#counts.clear();
    for (const c of kept) {
      let keys = this.#counts.get(c.bucket);
      if (keys === undefined) {
        keys = new Map();
        this.#counts.set(c.bucket, keys);
      }
      keys.set(c.key, c);
    }
    this.#size = kept.length;
  }
}
