// The fill writer: bytes of an S3 answer, as they stream to the client, are cut on the chunk grid and
// committed to the volume. A chunk is committed only when every byte of it arrived. The fill waits for its
// chunks within bounds (src/cache/read/fill-stream.ts); past them, when the process's write budget is
// spent, a chunk is skipped rather than hold the client back.
//
// Chunks go to the volume only: the RAM tier takes a chunk when a hit reads it again
// (src/cache/read/cached-body.ts), so that bytes read once (a scan, a fleet's first pass over a dataset)
// neither push the hot chunks out of RAM nor cost the fill fresh memory for every cell.

import type { BufferPool } from '../store/buffer-pool.js';
import type { ChunkStore } from '../store/chunks.js';
import { CODEC_SAMPLE_BYTES, chooseCodec, sampleCodec } from '../store/compression.js';
import { cellName } from '../store/key-names.js';
import type { ChunkPiece, Codec, ObjectVersion } from '../store/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Inflight } from './inflight.js';
import type { CacheStats } from './stats.js';
import type { WriteBudget } from './write-budget.js';

export interface SinkTarget {
  /** Where cells are written: the version's directory, or staging for an upload (VersionStaging). */
  chunks: Pick<ChunkStore, 'write' | 'prepareVersion'>;
  inflight: Inflight;
  stats: CacheStats;
  log: Logger;
  budget: WriteBudget;
  version: ObjectVersion;
  /** Prefix of every chunk id of this version (in-flight keys). */
  versionId: string;
  size: number;
  chunkSize: number;
  codec: Codec;
  /** Sniff the first bytes with file-type too when the answer starts at byte 0 (record's codec undecided). */
  sniff: { key: string; contentType: string | null; contentEncoding: string | null } | null;
  /** Told once when the first bytes changed the codec, so an upload's record can keep it. */
  onCodec?: (codec: Codec) => void;
  /** The pool the answer's buffers may come from: the sink holds each piece until its cell is settled. */
  pool?: BufferPool;
}

export class ChunkSink {
  readonly #t: SinkTarget;
  /** Object offset of the next byte expected. */
  #pos: number;
  readonly #end: number;
  #cell = -1;
  /** Cell offset of the first byte this answer brings to the open cell, and how many it brings. */
  #cellFrom = 0;
  #cellWant = 0;
  /** The open cell's bytes as they arrived: views of the answer's own buffers, not copies. */
  #pieces: ChunkPiece[] = [];
  #filled = 0;
  #pending = new Set<Promise<void>>();
  #releases = new Map<number, () => void>();
  #codec: Codec;
  /** The codec as decided from the first cell this sink commits; later cells wait for it. */
  #deciding: Promise<Codec> | null = null;
  /** The version's directory, made once before the first chunk lands in it. */
  readonly #ready: Promise<void>;
  /** Set when no client waits on this answer: a chunk then waits for the disk instead of being skipped. */
  #patient = false;

  /** Expects `length` bytes starting at object offset `start`. */
  constructor(target: SinkTarget, start: number, length: number) {
    this.#t = target;
    this.#pos = start;
    this.#end = start + length;
    this.#codec = target.codec;
    this.#ready = Promise.resolve();
    if (length <= 0) return;
    // A failure here shows again, and is reported, when the chunk writes rename into the directory.
    this.#ready = target.chunks.prepareVersion(target.version).catch(() => {});
    const first = Math.floor(start / target.chunkSize);
    const last = Math.floor((this.#end - 1) / target.chunkSize);
    for (let i = first; i <= last; i++) {
      const release = target.inflight.claimChunk(cellName(target.versionId, i));
      if (release) this.#releases.set(i, release);
    }
  }

  /** Chunk commits under way. */
  get backlog(): number {
    return this.#pending.size;
  }

  /**
   * From now on a chunk is kept even when the process's write budget is spent: nobody is held back by the
   * disk any more, so the writer (who then paces itself with `drain`) waits instead of losing the chunk.
   */
  bePatient(): void {
    this.#patient = true;
  }

  /** Takes the next bytes of the answer; the caller must not change `data` afterwards. */
  write(data: Buffer): void {
    let offset = 0;
    while (offset < data.length && this.#pos < this.#end) {
      const cell = Math.floor(this.#pos / this.#t.chunkSize);
      if (cell !== this.#cell) this.#openCell(cell);
      const take = Math.min(data.length - offset, this.#cellWant - this.#filled);
      const bytes = offset === 0 && take === data.length ? data : data.subarray(offset, offset + take);
      this.#t.pool?.hold(bytes);
      this.#pieces.push({ start: this.#cellFrom + this.#filled, bytes });
      this.#filled += take;
      this.#pos += take;
      offset += take;
      if (this.#filled === this.#cellWant) this.#commitCell();
    }
  }

  /**
   * Waits until at most `maxPending` chunk commits are in flight. A writer with no client to keep up with
   * (laying staged parts onto the grid, or an answer whose client fell behind) waits here instead of
   * having its chunks skipped.
   */
  async drain(maxPending: number): Promise<void> {
    while (this.#pending.size > maxPending) await Promise.race(this.#pending);
  }

  /** The answer ended: a complete one commits its trailing partial chunk, a cut one drops it. */
  async finish(complete: boolean): Promise<void> {
    if (this.#filled > 0 && complete && this.#pos === this.#end) this.#commitCell();
    this.#let(this.#pieces);
    this.#pieces = [];
    this.#cell = -1;
    await Promise.all(this.#pending);
    for (const release of this.#releases.values()) release();
    this.#releases.clear();
  }

  /** Lets go of the holds `write` took on these pieces' buffers. */
  #let(pieces: readonly ChunkPiece[]): void {
    const pool = this.#t.pool;
    if (pool) for (const p of pieces) pool.release(p.bytes);
  }

  /** The disk is behind: this chunk is not cached, and whoever waits for it fetches it. */
  #skipCell(cell: number): void {
    const t = this.#t;
    t.stats.chunksSkipped += 1;
    t.log.debug('chunk skipped: the volume is behind', { object: t.versionId, chunk: cell });
    this.#releases.get(cell)?.();
    this.#releases.delete(cell);
  }

  #openCell(cell: number): void {
    const cs = this.#t.chunkSize;
    const cellStart = cell * cs;
    const cellLength = Math.min(cs, this.#t.size - cellStart);
    this.#cell = cell;
    this.#cellFrom = this.#pos - cellStart;
    // From the first byte this answer brings to the cell to the cell's end or the answer's end.
    this.#cellWant = Math.min(cellStart + cellLength, this.#end) - this.#pos;
    this.#pieces = [];
    this.#filled = 0;
  }

  #commitCell(): void {
    const t = this.#t;
    const cell = this.#cell;
    let pieces = this.#pieces;
    const length = this.#filled;
    this.#pieces = [];
    this.#filled = 0;
    this.#cell = -1;
    if (!t.budget.tryTake(length)) {
      if (!this.#patient) {
        this.#skipCell(cell);
        this.#let(pieces);
        return;
      }
      // Bounded all the same: a patient writer keeps at most a few of its own chunks pending.
      t.budget.take(length);
    }
    const cellLength = Math.min(t.chunkSize, t.size - cell * t.chunkSize);
    // A cell read from a plain-HTTP origin arrives as views of one buffer (src/upstream/plain-http.ts).
    const held = pieces;
    const joined = joinViews(pieces, length);
    if (joined !== null) pieces = [joined];
    const commit = (async () => {
      try {
        const codec = await this.#codecFor(cell, pieces);
        await this.#ready;
        const written = await t.chunks.write(t.version, cell, cellLength, pieces, codec);
        t.stats.bytesStoredRaw += written.rawBytes;
        t.stats.bytesStoredOnDisk += written.storedBytes;
        if (written.rawBytes > 0) t.stats.chunksWritten += 1;
      } catch (err) {
        t.stats.writeErrors += 1;
        t.log.warn('chunk write failed; the answer is still served', {
          object: t.versionId,
          chunk: cell,
          error: (err as Error).message,
        });
      } finally {
        this.#let(held);
        this.#releases.get(cell)?.();
        this.#releases.delete(cell);
      }
    })();
    this.#pending.add(commit);
    void commit.then(() => {
      this.#pending.delete(commit);
      t.budget.give(length);
    });
  }

  /**
   * LZ4 is tried on a sample of the first cell this sink commits (file-type looks at it too when it is the
   * object's start), before any chunk is compressed: incompressible data then costs no LZ4 pass at all.
   */
  #codecFor(cell: number, pieces: readonly ChunkPiece[]): Promise<Codec> {
    if (this.#deciding === null && this.#codec === 'lz4') {
      const t = this.#t;
      const firstBytes = firstBytesOf(pieces, CODEC_SAMPLE_BYTES);
      const decided =
        t.sniff && cell === 0
          ? chooseCodec({ enabled: true, ...t.sniff, firstBytes })
          : Promise.resolve(sampleCodec(firstBytes));
      this.#deciding = decided.then(
        (codec) => {
          if (codec !== this.#codec) t.onCodec?.(codec);
          this.#codec = codec;
          return codec;
        },
        () => this.#codec,
      );
    }
    return this.#deciding ?? Promise.resolve(this.#codec);
  }
}

/** The pieces as one, when they are consecutive views of one buffer; null otherwise. */
export function joinViews(pieces: readonly ChunkPiece[], length: number): ChunkPiece | null {
  const first = pieces[0];
  if (first === undefined || pieces.length === 1) return null;
  let end = first.bytes.byteOffset;
  for (const p of pieces) {
    if (p.bytes.buffer !== first.bytes.buffer || p.bytes.byteOffset !== end) return null;
    end += p.bytes.length;
  }
  return { start: first.start, bytes: Buffer.from(first.bytes.buffer, first.bytes.byteOffset, length) };
}

/** Up to `n` leading bytes of a cell's pieces, copied only when they span more than one piece. */
function firstBytesOf(pieces: readonly ChunkPiece[], n: number): Buffer {
  const first = pieces[0]?.bytes ?? Buffer.alloc(0);
  if (first.length >= n || pieces.length === 1) return first.subarray(0, n);
  const upTo: Buffer[] = [];
  let have = 0;
  for (const p of pieces) {
    if (have >= n) break;
    upTo.push(p.bytes);
    have += p.bytes.length;
  }
  return Buffer.concat(upTo).subarray(0, n);
}
