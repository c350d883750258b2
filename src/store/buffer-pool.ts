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
  /** Free buffers by size: whole slabs, and the size classes of smaller lengths. */
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** References to each slab this pool made and handed out; free slabs have none. */
  readonly #refs = new WeakMap<ArrayBuffer, number>();
  /** How many bytes of each handed-out slab its taker asked for. */
  readonly #taken = new WeakMap<ArrayBuffer, number>();

  /** Bytes of the size classes' free buffers: at most a quarter of what `max` free slabs hold. */
  #classBytesFree = 0;

  /** At most `max` slabs wait free, and size-class buffers of a quarter of their bytes. */
  constructor(slabBytes: number, max: number) {
    this.slabBytes = slabBytes;
    this.#max = max;
  }

  /**
   * A buffer of `length` bytes (contents undefined), with one reference for the taker: a view of a whole
   * slab from half a slab up, of a size class (eighths of a power of two) below that, and of its own
   * above a slab or under half of `Buffer.poolSize` (32 KiB on Node 26), which Node serves from a shared
   * slab of its own. A small chunk file read from the volume then gets a buffer used before, not fresh
   * pages (each a fault when first touched: 11% of Kura's CPU for 64 KiB hits from the volume); what
   * keeps one for long copies it (the RAM tier: `inSizeClass`), since a class may be a quarter longer.
   */
  take(length: number): Buffer {
    const size = this.#sizeFor(length);
    if (size === null) return Buffer.allocUnsafe(length);
    let slab = this.#free.get(size)?.pop();
    if (slab !== undefined && size !== this.slabBytes) this.#classBytesFree -= size;
    // A fresh one from allocUnsafeSlow: not zero-filled, and an ArrayBuffer of its own.
    slab ??= Buffer.allocUnsafeSlow(size).buffer;
    this.#refs.set(slab, 1);
    this.#taken.set(slab, length);
    return Buffer.from(slab, 0, length);
  }

  #sizeFor(length: number): number | null {
    if (length > this.slabBytes) return null;
    if (length >= this.slabBytes / 2) return this.slabBytes;
    if (length < Buffer.poolSize >>> 1) return null;
    // Eighths of the power of two above: a class is at most a quarter longer than what it holds.
    let power = 1;
    while (power < length) power *= 2;
    const step = power / 8;
    return Math.ceil(length / step) * step;
  }

  /** Whether `view` lies in a buffer of one of this pool's size classes (not a whole slab). */
  inSizeClass(view: Uint8Array): boolean {
    const slab = view.buffer as ArrayBuffer;
    return this.#refs.has(slab) && slab.byteLength !== this.slabBytes;
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
    if (refs > 1) return;
    const size = slab.byteLength;
    let free = this.#free.get(size);
    if (free === undefined) {
      free = [];
      this.#free.set(size, free);
    }
    if (size === this.slabBytes) {
      if (free.length < this.#max) free.push(slab);
    } else if (this.#classBytesFree + size <= (this.#max * this.slabBytes) / 4) {
      free.push(slab);
      this.#classBytesFree += size;
    }
  }

  /**
   * The taker's reference, for a buffer filled front to back and handed on in views (a body read from a
   * socket): the consumer of the view that ends the buffer releases it, after taking its own.
   */
  releaseAtEnd(view: Uint8Array): void {
    const taken = this.#taken.get(view.buffer as ArrayBuffer);
    if (taken !== undefined && view.byteOffset + view.length === taken) this.release(view);
  }

  /** Buffers ready for reuse, of every size. */
  get free(): number {
    let n = 0;
    for (const list of this.#free.values()) n += list.length;
    return n;
  }
}
