// The RAM tier: decoded chunks of hot objects, bounded by bytes. What goes first when room is needed is
// the oldest chunk not used since the eviction last passed it (the clock, or second-chance, policy): a hit
// only marks its chunk, where moving it to the back of a strict LRU list cost two map updates per hit.
// It is consulted only once freshness is decided (docs/architecture.md, rule 3): it saves disk reads, never
// a question to S3.

import type { BufferPool } from '../store/buffer-pool.js';
import type { ChunkContent } from '../store/types.js';

/** Chunks remembered as read in a range once: about 160 bytes each (2.6 MB in all) for an id of a 64-character key hash and a 32-character ETag. */
const RANGE_READS_REMEMBERED = 16_384;

interface Entry {
  content: ChunkContent;
  size: number;
  /** Read since it was kept, or since the eviction last gave it a second chance. */
  used: boolean;
}

/**
 * The tier holds one reference to each pooled buffer it keeps (src/store/buffer-pool.ts), given back when
 * the chunk leaves: a readers' holds keep it from being used again while an answer still sends it.
 */
export class RamTier {
  readonly #capacity: number;
  readonly #pool: BufferPool | null;
  // A Map iterates in insertion order: its first entries are the ones kept longest ago.
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  /** Chunks a range was read of once, from the volume (`rangeReadBefore`); oldest first. */
  readonly #rangeRead = new Set<string>();

  constructor(capacityBytes: number, pool: BufferPool | null = null) {
    this.#capacity = capacityBytes;
    this.#pool = pool;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(id: string): ChunkContent | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.content;
  }

  /**
   * Whether a range of chunk `id` was read from the volume before, recently: a range read for the first
   * time is read alone (its blocks), a chunk read in ranges again is read whole and kept. Ranges read
   * once (a scan through a large file) then cost neither a whole chunk's read nor the hot chunks' room.
   * Remembers the last RANGE_READS_REMEMBERED chunks.
   */
  rangeReadBefore(id: string): boolean {
    if (this.#rangeRead.delete(id)) return true;
    this.#rangeRead.add(id);
    if (this.#rangeRead.size > RANGE_READS_REMEMBERED) {
      this.#rangeRead.delete(this.#rangeRead.values().next().value as string);
    }
    return false;
  }

  /** Whether a chunk of `size` bytes may be kept: one larger than a tenth of the tier would push out too much of the hot set at once. */
  accepts(size: number): boolean {
    return size <= this.#capacity / 10;
  }

  /** Keeps `given` (taking over one reference to each of its pooled buffers), or gives it back. */
  set(id: string, given: ChunkContent): void {
    if (this.#entries.get(id)?.content === given) return; // kept already, with its reference
    const size = sizeOf(given);
    if (!this.accepts(size)) {
      this.#let(given);
      return;
    }
    const content = this.#ownSized(given);
    this.delete(id);
    this.#entries.set(id, { content, size, used: false });
    this.#bytes += size;
    // A used chunk passed by goes to the back unmarked, so the loop ends within two rounds.
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#capacity) break;
      this.#entries.delete(oldest);
      if (entry.used) {
        entry.used = false;
        this.#entries.set(oldest, entry);
        continue;
      }
      this.#bytes -= entry.size;
      this.#let(entry.content);
    }
  }

  delete(id: string): void {
    const old = this.#entries.get(id);
    if (old === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= old.size;
    this.#let(old.content);
  }

  /**
   * `content`, or a copy of its pieces when the buffer under them is longer than they are, which the tier
   * would hold for long while counting only the pieces: a partial chunk's extents are views of the one
   * buffer its file was read into, and a small chunk's buffer may be of one of the pool's size classes
   * (up to a quarter longer than the file).
   */
  #ownSized(content: ChunkContent): ChunkContent {
    const pool = this.#pool;
    if (content.full && (pool === null || !content.pieces.some((p) => pool.inSizeClass(p.bytes)))) {
      return content;
    }
    const copy = { ...content, pieces: content.pieces.map((p) => ({ ...p, bytes: Buffer.from(p.bytes) })) };
    this.#let(content);
    return copy;
  }

  /** Gives back the content's reference: one per buffer, however many pieces are views of it. */
  #let(content: ChunkContent): void {
    const pool = this.#pool;
    if (pool === null) return;
    let last: ArrayBufferLike | null = null;
    for (const piece of content.pieces) {
      if (piece.bytes.buffer === last) continue;
      last = piece.bytes.buffer;
      pool.release(piece.bytes);
    }
  }

  /** Drops every chunk whose id starts with `prefix` (a version or an object). */
  deletePrefix(prefix: string): void {
    for (const id of this.#entries.keys()) if (id.startsWith(prefix)) this.delete(id);
  }
}

function sizeOf(content: ChunkContent): number {
  let n = 0;
  for (const piece of content.pieces) n += piece.bytes.length;
  return n;
}
