// Reading a cell's bytes for an answer: from the RAM tier, or from the volume (the blocks that hold them,
// or the whole chunk when it goes into the tier), after any fill of the cell under way.

import type { ObjectRecord } from '../../store/types.js';
import { settleWithin } from '../inflight.js';
import type { BodyJob, Slice } from './body-job.js';
import { awaitLeasedCell } from './fetch-lease.js';

export function cellLength(record: ObjectRecord, chunkSize: number, index: number): number {
  return Math.min(chunkSize, record.size - index * chunkSize);
}

function coveringPiece(pieces: readonly { start: number; bytes: Buffer }[], from: number, to: number) {
  return pieces.find((p) => p.start <= from && p.start + p.bytes.length >= to);
}

/** Whether the RAM tier holds bytes `[from, to)` of the cell `id`. */
export function inRam(job: BodyJob, id: string, from: number, to: number): boolean {
  const content = job.cache.ram.get(id);
  return content !== undefined && coveringPiece(content.pieces, from, to) !== undefined;
}

/**
 * Bytes `[from, to)` of cell `index` (`id` in the RAM tier) from RAM, held until sent, or null when the
 * tier lacks them. A whole chunk of another length than the record gives the cell is dropped from the tier.
 */
export function ramSlice(job: BodyJob, id: string, index: number, from: number, to: number): Slice | null {
  const { cache } = job;
  const content = cache.ram.get(id);
  if (content === undefined) return null;
  if (
    content.full &&
    content.pieces[0]?.bytes.length !== cellLength(job.record, cache.volume.chunkSize, index)
  ) {
    cache.ram.delete(id);
    return null;
  }
  const piece = coveringPiece(content.pieces, from, to);
  if (piece === undefined) return null;
  // Held until sent: the tier may let the chunk go meanwhile, and its buffer must not be used again.
  cache.cellPool.hold(piece.bytes);
  cache.stats.ramHits += 1;
  return { bytes: piece.bytes.subarray(from - piece.start, to - piece.start), ram: true };
}

/**
 * Bytes `[from, to)` of a cell from RAM or the volume, or null when they are not there, or corrupt, or of
 * another length than the record gives the cell (the store removes such a file: never served short).
 */
export async function cachedSlice(
  job: BodyJob,
  index: number,
  from: number,
  to: number,
  leased: boolean,
): Promise<Slice | null> {
  const { cache } = job;
  const id = job.versionName.cell(index);
  const length = cellLength(job.record, cache.volume.chunkSize, index);
  if (leased) {
    cache.stats.coalesced += 1;
    await awaitLeasedCell(cache, job.version, index, length, { from, to });
  }
  const pending = cache.inflight.chunkWritten(id);
  if (pending) {
    cache.stats.coalesced += 1;
    await settleWithin(pending, cache.waitMs);
  }
  const fromRam = ramSlice(job, id, index, from, to);
  if (fromRam !== null) return fromRam;
  const kept = job.ram && cache.ram.accepts(length);
  // Part of a cell: only the blocks holding it are read and checksummed (src/store/chunk-ranges.ts), unless
  // the chunk is going into RAM (`rangeReadBefore`). An LZ4 chunk cannot be read in blocks: the range
  // read finds that in its header and the chunk is read whole below.
  if (to - from < length && !(kept && cache.ram.rangeReadBefore(id))) {
    const blocks = await cache.chunks.readRange(job.version, index, length, from, to, cache.cellPool);
    if (blocks !== null) {
      return { bytes: blocks.bytes.subarray(from - blocks.start, to - blocks.start), ram: false };
    }
  }
  // Read into a pooled buffer, which goes back once the bytes are sent, or once the RAM tier lets the
  // chunk go: a warm stream through the tier then reuses the buffers it evicts instead of leaving them
  // for the collector (the process's memory grew by a fifth of the tier's size).
  const content = await cache.chunks.read(job.version, index, length, cache.cellPool);
  const piece = content && coveringPiece(content.pieces, from, to);
  // A partial chunk too (the extents of signed Range fills: an engine's footers and column chunks),
  // which a later read of more of the cell replaces with what the volume has by then.
  if (content && kept) {
    // The reader keeps a reference of its own; the tier takes over the one the read gave.
    if (piece) cache.cellPool.hold(piece.bytes);
    cache.ram.set(id, content);
  }
  if (!piece) return null;
  return { bytes: piece.bytes.subarray(from - piece.start, to - piece.start), ram: false };
}
