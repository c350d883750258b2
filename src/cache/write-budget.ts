// Bytes of chunks waiting for the disk, across every fill of the process. Fills never wait for the
// disk: when the budget is spent, a chunk is skipped instead (a later request fetches it), so a slow
// volume costs cache coverage, never client latency, and memory stays bounded.

export class WriteBudget {
  #used = 0;

  constructor(readonly limit: number) {}

  get used(): number {
    return this.#used;
  }

  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes` even past the limit: for a writer that bounds its own backlog and cannot skip. */
  take(bytes: number): void {
    this.#used += bytes;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }
}
