// The fill writer: bytes of an S3 answer, as they stream to the client, are cut on the chunk grid and
// committed to the volume. A chunk is committed only when every byte of it arrived; the client is never
// held back by the disk: when the process's write budget is spent, the chunk is skipped instead.

import type { ChunkStore } from '../store/chunks.js';
import { chooseCodec } from '../store/compression.js';
import type { Codec, ObjectVersion } from '../store/types.js';
import type { Logger } from '../telemetry/log.js';
import type { Inflight } from './inflight.js';
import type { RamTier } from './ram-tier.js';
import type { CacheStats } from './stats.js';
import type { WriteBudget } from './write-budget.js';

export interface SinkTarget {
  /** Where cells are written: the version's directory, or staging for an upload (VersionStaging). */
  chunks: Pick<ChunkStore, 'write'>;
  inflight: Inflight;
  stats: CacheStats;
  log: Logger;
  budget: WriteBudget;
  /** null when the rule keeps this object out of RAM. */
  ram: RamTier | null;
  version: ObjectVersion;
  /** Prefix of every chunk id of this version (RAM tier and in-flight keys). */
  versionId: string;
  size: number;
  chunkSize: number;
  codec: Codec;
  /** Sniff the first bytes to decide the codec when the answer starts at byte 0 (record's codec undecided). */
  sniff: { key: string; contentType: string | null; contentEncoding: string | null } | null;
  /** Told once when sniffing changed the codec, so the record can keep it. */
  onCodec?: (codec: Codec) => void;
}

export class ChunkSink {
  readonly #t: SinkTarget;
  /** Object offset of the next byte expected. */
  #pos: number;
  readonly #end: number;
  #cell = -1;
  #cellFrom = 0;
  #buf: Buffer | null = null;
  #filled = 0;
  #pending = new Set<Promise<void>>();
  #releases = new Map<number, () => void>();
  #codec: Codec;
  #sniffing: Promise<Codec> | null = null;

  /** Expects `length` bytes starting at object offset `start`. */
  constructor(target: SinkTarget, start: number, length: number) {
    this.#t = target;
    this.#pos = start;
    this.#end = start + length;
    this.#codec = target.codec;
    if (length <= 0) return;
    const first = Math.floor(start / target.chunkSize);
    const last = Math.floor((this.#end - 1) / target.chunkSize);
    for (let i = first; i <= last; i++) {
      const release = target.inflight.claimChunk(`${target.versionId}/${i}`);
      if (release) this.#releases.set(i, release);
    }
  }

  write(data: Buffer): void {
    let offset = 0;
    while (offset < data.length && this.#pos < this.#end) {
      const cs = this.#t.chunkSize;
      const cell = Math.floor(this.#pos / cs);
      if (cell !== this.#cell) this.#openCell(cell);
      const buf = this.#buf as Buffer;
      const take = Math.min(data.length - offset, buf.length - this.#filled, this.#end - this.#pos);
      data.copy(buf, this.#filled, offset, offset + take);
      this.#filled += take;
      this.#pos += take;
      offset += take;
      if (this.#filled === buf.length) this.#commitCell(buf.length);
    }
  }

  /**
   * Waits until at most `maxPending` chunk commits are in flight. A writer with no client to keep up with
   * (laying staged parts onto the grid) waits here instead of having its chunks skipped.
   */
  async drain(maxPending: number): Promise<void> {
    while (this.#pending.size > maxPending) await Promise.race(this.#pending);
  }

  /** The answer ended: a complete one commits its trailing partial chunk, a cut one drops it. */
  async finish(complete: boolean): Promise<void> {
    if (this.#buf !== null && this.#filled > 0) {
      if (complete && this.#pos === this.#end) this.#commitCell(this.#filled);
    }
    this.#buf = null;
    await Promise.all(this.#pending);
    for (const release of this.#releases.values()) release();
    this.#releases.clear();
  }

  /** The disk is behind: this chunk is not cached, and whoever waits for it fetches it. */
  #skipCell(): void {
    const t = this.#t;
    t.stats.chunksSkipped += 1;
    t.log.debug('chunk skipped: the volume is behind', { object: t.versionId, chunk: this.#cell });
    this.#releases.get(this.#cell)?.();
    this.#releases.delete(this.#cell);
    this.#buf = null;
    this.#cell = -1;
  }

  #openCell(cell: number): void {
    const cs = this.#t.chunkSize;
    const cellStart = cell * cs;
    const cellLength = Math.min(cs, this.#t.size - cellStart);
    this.#cell = cell;
    this.#cellFrom = this.#pos - cellStart;
    // The buffer holds from the first byte this answer brings to the cell's end or the answer's end.
    const until = Math.min(cellStart + cellLength, this.#end);
    this.#buf = Buffer.allocUnsafe(until - this.#pos);
    this.#filled = 0;
  }

  #commitCell(length: number): void {
    if (!this.#t.budget.tryTake(length)) {
      this.#skipCell();
      return;
    }
    const t = this.#t;
    const cell = this.#cell;
    const bytes = (this.#buf as Buffer).subarray(0, length);
    const piece = { start: this.#cellFrom, bytes };
    const cellLength = Math.min(t.chunkSize, t.size - cell * t.chunkSize);
    this.#buf = null;
    this.#cell = -1;
    const commit = (async () => {
      try {
        const codec = await this.#codecFor(cell, bytes);
        const written = await t.chunks.write(t.version, cell, cellLength, [piece], codec);
        // The first chunk is the sample: data LZ4 cannot shrink there (random, encrypted, packed formats
        // file-type does not know) is stored raw from here on, saving an LZ4 pass per chunk.
        if (cell === 0 && codec === 'lz4' && written.storedBytes >= written.rawBytes * 0.97) {
          this.#codec = 'raw';
          t.onCodec?.('raw');
        }
        t.stats.bytesStoredRaw += written.rawBytes;
        t.stats.bytesStoredOnDisk += written.storedBytes;
        if (written.rawBytes > 0) t.stats.chunksWritten += 1;
        const id = `${t.versionId}/${cell}`;
        if (piece.start === 0 && bytes.length === cellLength && t.ram) {
          t.ram.set(id, { index: cell, full: true, pieces: [piece] });
        } else {
          t.ram?.delete(id);
        }
      } catch (err) {
        t.stats.writeErrors += 1;
        t.log.warn('chunk write failed; the answer is still served', {
          object: t.versionId,
          chunk: cell,
          error: (err as Error).message,
        });
      } finally {
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

  /** Cell 0 of an answer from byte 0 decides the codec from its first bytes; later cells wait for that. */
  #codecFor(cell: number, bytes: Buffer): Promise<Codec> {
    const sniff = this.#t.sniff;
    if (sniff && this.#sniffing === null && cell === 0 && this.#codec === 'lz4') {
      this.#sniffing = chooseCodec({ enabled: true, ...sniff, firstBytes: bytes.subarray(0, 4100) }).then(
        (codec) => {
          if (codec !== this.#codec) this.#t.onCodec?.(codec);
          this.#codec = codec;
          return codec;
        },
        () => this.#codec,
      );
    }
    return this.#sniffing ? this.#sniffing.then(() => this.#codec) : Promise.resolve(this.#codec);
  }
}
