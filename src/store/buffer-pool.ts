// Buffers of one size (a chunk file), used again once their bytes are sent. Streaming an object from the
// volume otherwise allocates a fresh megabyte per chunk: the allocator keeps freed ones in its heap (the
// process's memory grows with the rate of reads, not with what is in use), V8 collects them only when a
// full mark comes round, and every fresh page costs a fault when it is first touched.
//
// A taken buffer is counted: `take` gives the taker one reference, each further holder of a view takes
// one with `hold`, and every reference is given back once with `release`; the buffer returns to the pool
// when none is left (the chunk written, the socket done with the bytes). Whatever is not released is
// simply garbage: a missed release costs an allocation, never bytes.

export class BufferPool {
  readonly slabBytes: number;
  readonly #max: number;
  readonly #free: ArrayBuffer[] = [];
  /** References to each slab this pool made and handed out; free slabs have none. */
  readonly #refs = new WeakMap<ArrayBuffer, number>();
  /** How many bytes of each handed-out slab its taker asked for. */
  readonly #taken = new WeakMap<ArrayBuffer, number>();

  constructor(slabBytes: number, max: number) {
    this.slabBytes = slabBytes;
    this.#max = max;
  }

  /**
   * A buffer of `length` bytes (contents undefined), with one reference for the taker. Lengths under half
   * a slab get a buffer of their own, since a small file kept for long (the RAM tier) must not pin a
   * whole slab.
   */
  take(length: number): Buffer {
    if (length > this.slabBytes || length < this.slabBytes / 2) return Buffer.allocUnsafe(length);
    // A fresh slab from allocUnsafeSlow: not zero-filled, and an ArrayBuffer of its own.
    const slab = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes).buffer;
    this.#refs.set(slab, 1);
    this.#taken.set(slab, length);
    return Buffer.from(slab, 0, length);
  }

  /** One more reference to the slab under `view`, if it is this pool's and in use. */
  hold(view: Uint8Array): void {
    const slab = view.buffer as ArrayBuffer;
    const refs = this.#refs.get(slab);
    if (refs !== undefined && refs > 0) this.#refs.set(slab, refs + 1);
  }

  /** Gives back one reference to the slab under `view` (any view of it); at none, the slab is free. */
  release(view: Uint8Array): void {
    const slab = view.buffer as ArrayBuffer;
    const refs = this.#refs.get(slab);
    if (refs === undefined || refs <= 0) return;
    this.#refs.set(slab, refs - 1);
    if (refs > 1 || this.#free.length >= this.#max) return;
    this.#free.push(slab);
  }

  /**
   * The taker's reference, for a buffer filled front to back and handed on in views (a body read from a
   * socket): the consumer of the view that ends the buffer releases it, after taking its own.
   */
  releaseAtEnd(view: Uint8Array): void {
    const taken = this.#taken.get(view.buffer as ArrayBuffer);
    if (taken !== undefined && view.byteOffset + view.length === taken) this.release(view);
  }

  /** Slabs ready for reuse. */
  get free(): number {
    return this.#free.length;
  }
}
