// Coalescing inside one process: who is already bringing which chunk, and which cold object's first
// answer is on its way. Waiting here saves bytes, never authorization (docs/architecture.md, rule 3): a
// waiter is only ever served under a record that is fresh for it, or after its own request was answered
// by S3.

export class Inflight {
  readonly #chunks = new Map<string, { done: Promise<void>; release: () => void }>();
  readonly #coldFills = new Map<string, Promise<void>>();
  readonly #recordWrites = new Map<string, Promise<unknown>>();

  /** Becomes the writer of a chunk: returns its release, or null when another request is writing it. */
  claimChunk(chunkId: string): (() => void) | null {
    if (this.#chunks.has(chunkId)) return null;
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = () => {
        if (this.#chunks.get(chunkId)?.done === done) this.#chunks.delete(chunkId);
        resolve();
      };
    });
    this.#chunks.set(chunkId, { done, release });
    return release;
  }

  /** Settles when the chunk's writer is done with it (committed or given up); undefined when none is. */
  chunkWritten(chunkId: string): Promise<void> | undefined {
    return this.#chunks.get(chunkId)?.done;
  }

  /** Marks the first fetch of an object nobody has a record of; `done` settles once its record is written. */
  startColdFill(objectId: string): (() => void) | null {
    if (this.#coldFills.has(objectId)) return null;
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = () => {
        if (this.#coldFills.get(objectId) === done) this.#coldFills.delete(objectId);
        resolve();
      };
    });
    this.#coldFills.set(objectId, done);
    return finish;
  }

  coldFill(objectId: string): Promise<void> | undefined {
    return this.#coldFills.get(objectId);
  }

  /** A record update this process started: a request arriving meanwhile reads the record after it. */
  trackRecordWrite(objectId: string, write: Promise<unknown>): void {
    this.#recordWrites.set(objectId, write);
    const forget = () => {
      if (this.#recordWrites.get(objectId) === write) this.#recordWrites.delete(objectId);
    };
    write.then(forget, forget);
  }

  recordWrite(objectId: string): Promise<unknown> | undefined {
    return this.#recordWrites.get(objectId);
  }
}

/** Resolves when `p` settles or after `ms`, whichever is first; never rejects. */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
