// Pieces of one cell (cell-relative byte runs): which may be written, whether they make the whole cell,
// and their union, the form a chunk file's extents take (chunk-file.ts).

import type { ChunkPiece } from './types.js';

/**
 * The non-empty `pieces` of a cell of `cellLength` bytes on a grid of `chunkSize`. A cell length off the
 * grid, or a piece outside the cell, is a caller's bug: a RangeError, never a file written.
 */
export function piecesToWrite(
  pieces: readonly ChunkPiece[],
  cellLength: number,
  chunkSize: number,
): ChunkPiece[] {
  if (!Number.isInteger(cellLength) || cellLength < 1 || cellLength > chunkSize) {
    throw new RangeError(`cell length ${cellLength} is not in [1, ${chunkSize}]`);
  }
  const incoming = pieces.filter((p) => p.bytes.length > 0);
  for (const p of incoming) {
    if (!Number.isInteger(p.start) || p.start < 0 || p.start + p.bytes.length > cellLength) {
      throw new RangeError(
        `piece [${p.start}, ${p.start + p.bytes.length}) is outside a cell of ${cellLength}`,
      );
    }
  }
  return incoming;
}

/** True when `pieces`, in order, are exactly the whole cell: each starts where the one before ended. */
export function coversCell(pieces: readonly ChunkPiece[], cellLength: number): boolean {
  let at = 0;
  for (const p of pieces) {
    if (p.start !== at) return false;
    at += p.bytes.length;
  }
  return at === cellLength;
}

/**
 * Sorted, disjoint pieces covering the union of `pieces`, touching or overlapping ones joined; where
 * pieces overlap, the later one's bytes are kept. A piece that alone forms a run is reused, not copied.
 */
export function mergePieces(pieces: readonly ChunkPiece[]): ChunkPiece[] {
  const order = pieces
    .map((_, i) => i)
    .sort((a, b) => (pieces[a] as ChunkPiece).start - (pieces[b] as ChunkPiece).start);
  const runs: { start: number; end: number; members: number[] }[] = [];
  for (const i of order) {
    const p = pieces[i] as ChunkPiece;
    const end = p.start + p.bytes.length;
    const run = runs[runs.length - 1];
    if (run && p.start <= run.end) {
      run.end = Math.max(run.end, end);
      run.members.push(i);
    } else {
      runs.push({ start: p.start, end, members: [i] });
    }
  }
  return runs.map((run) => {
    const first = pieces[run.members[0] as number] as ChunkPiece;
    if (run.members.length === 1) return first;
    const bytes = Buffer.allocUnsafe(run.end - run.start);
    // Ascending input order, so a later piece overwrites an earlier one where they overlap.
    for (const i of run.members.sort((a, b) => a - b)) {
      const p = pieces[i] as ChunkPiece;
      p.bytes.copy(bytes, p.start - run.start);
    }
    return { start: run.start, bytes };
  });
}
