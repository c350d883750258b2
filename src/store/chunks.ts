// Chunk files of object versions. Reads take no lock: files are immutable once renamed into place, and
// every writer of a chunk writes the same bytes (the ETag is in the path), so concurrent writers only race
// for which identical file lands. A partial merge lost to such a race costs cache coverage, never bytes.

import { unlink } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { BufferPool } from './buffer-pool.js';
import { coversCell, mergePieces, piecesToWrite } from './cell-pieces.js';
import {
  type ChunkHeader,
  type ChunkPlace,
  CorruptChunkError,
  decodeChunk,
  encodeChunk,
  headerLengthOf,
  MAX_EXTENTS,
  maxChunkHeaderLength,
  readChunkHeader,
} from './chunk-file.js';
import { BlockSizes, decodeRange, type RangeInFile } from './chunk-ranges.js';
import { readHeadAndBlocks, readHeaderBytes, readWholeFile } from './chunk-reads.js';
import { clearPath } from './clear-path.js';
import { access, TRANSIENT_CODES } from './fs-calls.js';
import { removeTree } from './remove-tree.js';
import type { ChunkContent, ChunkPiece, Codec, Extent, ObjectKey, ObjectVersion } from './types.js';
import type { Volume } from './volume.js';

/**
 * A chunk file failed its checks, could not be read, or was no file (or a file stood where one of its
 * directories belongs); it has been removed so a fill replaces it.
 */
export type OnCorruptChunk = (path: string, reason: string) => void;
/** A read failed for a reason that may pass (no file descriptors, a stale NFS handle); the file stays. */
export type OnChunkReadError = (path: string, err: NodeJS.ErrnoException) => void;

export interface ChunkWriteResult {
  /** Bytes of the cell the written file holds; 0 when nothing was written. */
  rawBytes: number;
  /** Size of the written file. */
  storedBytes: number;
}

const NOTHING_WRITTEN: ChunkWriteResult = { rawBytes: 0, storedBytes: 0 };

export class ChunkStore {
  readonly #volume: Volume;
  readonly #onCorrupt: OnCorruptChunk;
  readonly #onReadError: OnChunkReadError;
  /** A file larger than any chunk this volume can hold is not one. */
  readonly #maxFileBytes: number;
  /** The last merge queued per partial chunk path. */
  readonly #merges = new Map<string, Promise<void>>();
  /** How each recent version's full chunks are read in blocks, as found. */
  readonly #blocks = new BlockSizes();

  constructor(
    volume: Volume,
    onCorrupt: OnCorruptChunk = () => {},
    onReadError: OnChunkReadError = () => {},
  ) {
    this.#volume = volume;
    this.#onCorrupt = onCorrupt;
    this.#onReadError = onReadError;
    this.#maxFileBytes = maxChunkHeaderLength(volume.chunkSize) + volume.chunkSize;
  }

  /**
   * The cell's cached bytes: the full chunk if present, else the partial one; null when neither is usable.
   * `cellLength` is the cell's length as the object's record implies it: a full chunk of another length,
   * or a partial one with bytes past it, does not belong to that object and is removed, never served.
   * With a `pool`, the file is read into one of its buffers: the pieces may be views of it, and the
   * caller releases it once done with them (or leaves it to the garbage collector).
   */
  async read(
    v: ObjectVersion,
    index: number,
    cellLength: number,
    pool?: BufferPool,
  ): Promise<ChunkContent | null> {
    const place = { index, tag: this.#volume.versionTag(v) };
    return (
      (await this.#load(this.#volume.chunkPath(v, index, false), place, true, cellLength, pool)) ??
      (await this.#load(this.#volume.chunkPath(v, index, true), place, false, cellLength, pool))
    );
  }

  /**
   * Bytes `[from, to)` of cell `index` from its full chunk, read and verified alone: the blocks holding
   * them (chunk-file.ts), rounded out to whole blocks, so the piece may start before `from` and end after
   * `to`. Null when there is no full chunk, or it cannot be read in blocks (LZ4, format 2): `read` then
   * reads the cell whole; once a chunk of a version was, that version's ranges are null at once. A file
   * in blocks of another size (an older Kura's) costs a look at its header, and the version's ranges are
   * read by that size from then on. A damaged file is removed, as `read` does. With a `pool`, the
   * piece's bytes are one of its buffers, whose reference goes to the caller.
   */
  async readRange(
    v: ObjectVersion,
    index: number,
    cellLength: number,
    from: number,
    to: number,
    pool?: BufferPool,
  ): Promise<ChunkPiece | null> {
    const tag = this.#volume.versionTag(v);
    const place = { index, tag };
    const path = this.#volume.chunkPath(v, index, false);
    for (let tries = 0; tries < 2; tries++) {
      const where = this.#blocks.where(tag, cellLength, from, to);
      if (where === null) return null;
      const read = await this.#readBlocks(path, place, where, cellLength, pool);
      if (read !== 'other blocks') return read;
      const header = await this.#headerOf(path, place);
      if (header === null) return null;
      this.#blocks.learn(tag, header, cellLength);
    }
    return null;
  }

  /**
   * The verified blocks `where` names; 'other blocks' when the file's header is not the one `where`
   * takes it to have (another block size, or not a raw full chunk of blocks), or null.
   */
  async #readBlocks(
    path: string,
    place: ChunkPlace,
    where: RangeInFile,
    cellLength: number,
    pool: BufferPool | undefined,
  ): Promise<ChunkPiece | 'other blocks' | null> {
    let read: { head: Buffer; blocks: Buffer } | null;
    try {
      read = await readHeadAndBlocks(path, where, this.#volume.calls, pool);
    } catch (err) {
      await this.#unreadable(path, err as NodeJS.ErrnoException);
      return null;
    }
    if (read === null) return null;
    try {
      // A header of another length is another geometry, looked at whole by the caller.
      const other = headerLengthOf(read.head) !== where.headerLength;
      const piece = other
        ? null
        : decodeRange(readChunkHeader(read.head, place), read.blocks, where, cellLength);
      if (piece === null) pool?.release(read.blocks);
      return piece ?? 'other blocks';
    } catch (err) {
      pool?.release(read.blocks);
      await this.#discard(path, reasonOf(err));
      return null;
    }
  }

  /** The checked header of a chunk file, or null when it is gone, unreadable (reported) or damaged (removed). */
  async #headerOf(path: string, place: ChunkPlace): Promise<ChunkHeader | null> {
    let prefix: Buffer | null;
    try {
      prefix = await readHeaderBytes(path, this.#volume.calls);
    } catch (err) {
      await this.#unreadable(path, err as NodeJS.ErrnoException);
      return null;
    }
    if (prefix === null) return null;
    try {
      return readChunkHeader(prefix, place);
    } catch (err) {
      await this.#discard(path, reasonOf(err));
      return null;
    }
  }

  /**
   * Creates the version's directory, once per fill rather than once per chunk: chunk writes rename into
   * it (and still recreate it should maintenance remove it meanwhile).
   */
  async prepareVersion(v: ObjectVersion): Promise<void> {
    await mkdir(this.#volume.versionDir(v), { recursive: true, mode: 0o700 });
  }

  /**
   * Which extents of the cell are cached, from a stat or a partial chunk's header. Payloads are not
   * verified here: a later `read` may still find a file corrupt, which the caller treats as a miss.
   */
  async probe(v: ObjectVersion, index: number, cellLength: number): Promise<Extent[]> {
    if (await this.#isFile(this.#volume.chunkPath(v, index, false))) return [{ start: 0, end: cellLength }];
    const path = this.#volume.chunkPath(v, index, true);
    const header = await this.#headerOf(path, { index, tag: this.#volume.versionTag(v) });
    if (header === null) return [];
    const last = header.extents[header.extents.length - 1] as Extent;
    if (last.end <= cellLength) return header.extents;
    await this.#discard(path, `extent ends at ${last.end}, past the cell`);
    return [];
  }

  /**
   * Caches pieces of one cell (cell-relative; unsorted and overlapping allowed, later pieces win). Pieces
   * that cover the cell make a full chunk; otherwise they are merged into the cell's partial chunk, which
   * becomes a full one once the merge covers the cell. Rejects on write failures (ENOSPC, EACCES…).
   */
  async write(
    v: ObjectVersion,
    index: number,
    cellLength: number,
    pieces: readonly ChunkPiece[],
    codec: Codec,
  ): Promise<ChunkWriteResult> {
    const incoming = piecesToWrite(pieces, cellLength, this.#volume.chunkSize);
    if (incoming.length === 0) return NOTHING_WRITTEN;
    // A whole cell: a partial chunk is rewritten with every extent it holds, not just the new ones.
    if (!this.#volume.space.mayWrite(cellLength)) return NOTHING_WRITTEN;
    try {
      return await this.#writeAdmitted(v, index, cellLength, incoming, codec);
    } finally {
      this.#volume.space.settle(cellLength);
    }
  }

  async #writeAdmitted(
    v: ObjectVersion,
    index: number,
    cellLength: number,
    incoming: ChunkPiece[],
    codec: Codec,
  ): Promise<ChunkWriteResult> {
    const partialPath = this.#volume.chunkPath(v, index, true);
    // A cell that arrived whole (a fill's pieces, in order) is written as it came, without a copy.
    if (coversCell(incoming, cellLength)) return this.#writeFull(v, partialPath, index, incoming, codec);
    const mine = mergePieces(incoming);
    if (coversCell(mine, cellLength)) return this.#writeFull(v, partialPath, index, mine, codec);
    // A merge reads the partial chunk, adds to it and renames the result over it: two merges of one
    // cell at once would each drop the other's extents, so this process runs them one after another
    // (instances sharing the volume may still race, which costs coverage, never bytes).
    return this.#mergeSerially(partialPath, () => this.#mergePartial(v, index, cellLength, incoming, codec));
  }

  async #mergeSerially(key: string, merge: () => Promise<ChunkWriteResult>): Promise<ChunkWriteResult> {
    const before = this.#merges.get(key);
    const mine = (before ?? Promise.resolve()).then(merge, merge);
    const tail = mine.then(
      () => {},
      () => {},
    );
    this.#merges.set(key, tail);
    void tail.then(() => {
      if (this.#merges.get(key) === tail) this.#merges.delete(key);
    });
    return mine;
  }

  async #mergePartial(
    v: ObjectVersion,
    index: number,
    cellLength: number,
    incoming: ChunkPiece[],
    codec: Codec,
  ): Promise<ChunkWriteResult> {
    const fullPath = this.#volume.chunkPath(v, index, false);
    const partialPath = this.#volume.chunkPath(v, index, true);
    const mine = mergePieces(incoming);
    if (await exists(fullPath)) return NOTHING_WRITTEN;

    const existing = await this.#load(
      partialPath,
      { index, tag: this.#volume.versionTag(v) },
      false,
      cellLength,
    );
    let merged = existing ? mergePieces([...existing.pieces, ...incoming]) : mine;
    if (coversCell(merged, cellLength)) {
      return this.#writeFull(v, partialPath, index, merged, codec, existing !== null);
    }
    // Thousands of scattered fragments: keep what was just fetched rather than fail the write.
    if (merged.length > MAX_EXTENTS) merged = mine;
    const encoded = await encodeChunk(
      { index, full: false, pieces: merged },
      codec,
      this.#volume.versionTag(v),
    );
    await writeFileAtomic(this.#volume, partialPath, [encoded.header, ...encoded.payload]);
    this.#volume.events.chunkWritten(v, `${index}.p`, encoded.storedBytes);
    return { rawBytes: encoded.rawBytes, storedBytes: encoded.storedBytes };
  }

  /** Removes every chunk of one version. */
  async removeVersion(v: ObjectVersion): Promise<void> {
    await removeTree(this.#volume, this.#volume.versionDir(v), (at) =>
      this.#volume.events.versionRemoved(v, at),
    );
  }

  /** Removes every chunk of every version of an object. */
  async removeObject(k: ObjectKey): Promise<void> {
    await removeTree(this.#volume, this.#volume.objectDataDir(k), (at) =>
      this.#volume.events.objectDataRemoved(k, at),
    );
  }

  async #writeFull(
    v: ObjectVersion,
    partialPath: string,
    index: number,
    pieces: ChunkPiece[],
    codec: Codec,
    replacesPartial = false,
  ): Promise<ChunkWriteResult> {
    const encoded = await encodeChunk({ index, full: true, pieces }, codec, this.#volume.versionTag(v));
    const path = this.#volume.chunkPath(v, index, false);
    await writeFileAtomic(this.#volume, path, [encoded.header, ...encoded.payload]);
    this.#volume.events.chunkWritten(v, `${index}`, encoded.storedBytes);
    // Only garbage now: a full chunk always wins over its partial. Usually there is none: the callback
    // API keeps that common ENOENT cheap, and nothing waits for it. A merge that just read the partial
    // waits, so that the partial is gone when the write settles (probes and accounting agree at once).
    // Timed before the unlink: a partial another instance merges in right after it is not taken for this one.
    const at = Date.now();
    const removal = new Promise<void>((resolve) =>
      unlink(partialPath, (err) => {
        if (!err) this.#volume.events.chunkRemoved(v, `${index}.p`, at);
        resolve();
      }),
    );
    if (replacesPartial) await removal;
    return { rawBytes: encoded.rawBytes, storedBytes: encoded.storedBytes };
  }

  /** Whether a file is at `path`; anything else standing there, or in the way of it, is removed. */
  async #isFile(path: string): Promise<boolean> {
    try {
      if ((await this.#volume.calls.stat(path)).isFile()) return true;
      await this.#discard(path, 'not a file');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await this.#unreadable(path, err as NodeJS.ErrnoException);
      }
    }
    return false;
  }

  async #load(
    path: string,
    place: ChunkPlace,
    full: boolean,
    cellLength: number,
    pool?: BufferPool,
  ): Promise<ChunkContent | null> {
    let file: Buffer | null;
    try {
      file = await readWholeFile(path, this.#maxFileBytes, this.#volume.calls, pool);
    } catch (err) {
      if (err instanceof CorruptChunkError) await this.#discard(path, err.reason);
      else await this.#unreadable(path, err as NodeJS.ErrnoException);
      return null;
    }
    if (file === null) return null;
    let content: ChunkContent;
    try {
      content = await decodeChunk(file, place, full);
    } catch (err) {
      pool?.release(file);
      await this.#discard(path, reasonOf(err));
      return null;
    }
    // Decompressed: the pieces are views of another buffer, and the file's can go back at once.
    if (content.pieces[0]?.bytes.buffer !== file.buffer) pool?.release(file);
    const last = content.pieces[content.pieces.length - 1] as ChunkPiece;
    const end = last.start + last.bytes.length;
    if (full ? end !== cellLength : end > cellLength) {
      await this.#discard(path, `holds bytes up to ${end} of a cell of ${cellLength}`);
      return null;
    }
    return content;
  }

  async #unreadable(path: string, err: NodeJS.ErrnoException): Promise<void> {
    if (TRANSIENT_CODES.has(err.code ?? '')) this.#onReadError(path, err);
    else await this.#discard(path, `unreadable: ${err.code ?? err.message}`);
  }

  async #discard(path: string, reason: string): Promise<void> {
    // A directory in the file's place, or a file in place of one of its directories (ENOTDIR), goes too.
    // If it cannot go, the read is a miss all the same; it is reported below with its path.
    const removed = await clearPath(join(this.#volume.dir, 'data'), path).catch(() => null);
    this.#onCorrupt(removed ?? path, reason);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof CorruptChunkError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
