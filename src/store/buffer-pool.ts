// Buffers of one size (a chunk file), used again once their bytes are sent. Streaming an object from the
// volume otherwise allocates a fresh megabyte per chunk: the allocator keeps freed ones in its heap (the
// process's memory grows with the rate of reads, not with what is in use), V8 collects them only when a
// full mark comes round, and every fresh page costs a fault when it is first touched.
//
// A buffer goes back only through `release`, called by the one owner that knows no view of it is still in
// use (the answer, once the socket has taken the bytes). Whatever is not released is simply garbage: a
// missed release costs an allocation, never bytes.

export class BufferPool {
  readonly slabBytes: number;
  readonly #max: number;
  readonly #free: ArrayBuffer[] = [];
  /** The slabs this pool made: `release` takes back nothing else (Node's shared small-buffer pool above all). */
  readonly #own = new WeakSet<ArrayBuffer>();
  /** Slabs released while already free: a double release would hand one slab to two readers. */
  readonly #isFree = new WeakSet<ArrayBuffer>();

  constructor(slabBytes: number, max: number) {
    this.slabBytes = slabBytes;
    this.#max = max;
  }

  /**
   * A buffer of `length` bytes (contents undefined). Lengths under half a slab get a buffer of their own,
   * since a small file kept for long (the RAM tier) must not pin a whole slab.
   */
  take(length: number): Buffer {
    if (length > this.slabBytes || length < this.slabBytes / 2) return Buffer.allocUnsafe(length);
    let slab = this.#free.pop();
    if (slab === undefined) {
      slab = new ArrayBuffer(this.slabBytes);
      this.#own.add(slab);
    } else this.#isFree.delete(slab);
    return Buffer.from(slab, 0, length);
  }

  /** Gives back the slab under `view` (any view of it); the caller holds no view of it any more. */
  release(view: Uint8Array): void {
    const slab = view.buffer;
    if (!(slab instanceof ArrayBuffer) || !this.#own.has(slab) || this.#isFree.has(slab)) return;
    if (this.#free.length >= this.#max) return;
    this.#isFree.add(slab);
    this.#free.push(slab);
  }

  /** Slabs ready for reuse. */
  get free(): number {
    return this.#free.length;
  }
}
