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
  readonly #counts = new Map<string, KeyCount>();
  readonly #limit: number;

  constructor(limit = 1000) {
    this.#limit = limit;
  }

  add(bucket: string, key: string, bytes: number, hit: boolean): void {
    const id = `${bucket}/${key}`;
    let c = this.#counts.get(id);
    if (!c) {
      c = { bucket, key, requests: 0, hits: 0, bytes: 0 };
      this.#counts.set(id, c);
      if (this.#counts.size > 2 * this.#limit) this.#trim();
    }
    c.requests += 1;
    c.bytes += bytes;
    if (hit) c.hits += 1;
  }

  top(n: number): KeyCount[] {
    return [...this.#counts.values()]
      .sort((a, b) => b.requests - a.requests || b.bytes - a.bytes)
      .slice(0, n);
  }

  #trim(): void {
    const keep = new Set(this.top(this.#limit).map((c) => `${c.bucket}/${c.key}`));
    for (const id of this.#counts.keys()) if (!keep.has(id)) this.#counts.delete(id);
  }
}
