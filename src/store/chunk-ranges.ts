// A range of a raw full chunk, read in the blocks that hold it (chunk-file.ts has the layout): where those
// blocks lie in the file, which the cell's length alone gives, and their bytes verified alone.

import {
  BLOCK_BYTES,
  type ChunkHeader,
  CorruptChunkError,
  chunkHeaderLength,
  verifyBlocks,
} from './chunk-file.js';
import type { ChunkPiece, Extent } from './types.js';

/**
 * Where bytes `[from, to)` of a raw full chunk of `cellLength` bytes lie in its file: the blocks that
 * hold them, which a range read reads and verifies alone (`decodeRange`), and the header before them.
 */
export interface RangeInFile {
  headerLength: number;
  /** The first block read, and the file offset and length of the blocks read. */
  firstBlock: number;
  offset: number;
  length: number;
}

export function rangeInFile(cellLength: number, from: number, to: number): RangeInFile {
  const headerLength = chunkHeaderLength(1, cellLength);
  const firstBlock = Math.floor(from / BLOCK_BYTES);
  const end = Math.min(cellLength, Math.ceil(to / BLOCK_BYTES) * BLOCK_BYTES);
  const start = firstBlock * BLOCK_BYTES;
  return { headerLength, firstBlock, offset: headerLength + start, length: end - start };
}

/**
 * The verified bytes of the blocks `where` names, from a full chunk's header and those blocks as read
 * (possibly short), or null when the file cannot be read in blocks (LZ4, format 2, another block size):
 * the caller reads it whole. Throws `CorruptChunkError` as `decodeChunk` does.
 */
export function decodeRange(
  header: ChunkHeader,
  blocks: Buffer,
  where: RangeInFile,
  cellLength: number,
): ChunkPiece | null {
  const first = header.extents[0] as Extent;
  if (header.extents.length !== 1 || first.start !== 0) {
    throw new CorruptChunkError('a full chunk must be one extent from the start of its cell');
  }
  if (header.rawLength !== cellLength) {
    throw new CorruptChunkError(`holds ${header.rawLength} bytes of a cell of ${cellLength}`);
  }
  if (
    header.codec !== 'raw' ||
    header.blockBytes !== BLOCK_BYTES ||
    header.headerLength !== where.headerLength
  )
    return null;
  if (header.payloadLength !== header.rawLength) {
    throw new CorruptChunkError(
      `raw payload is ${header.payloadLength} bytes, header says ${header.rawLength}`,
    );
  }
  if (blocks.length !== where.length) {
    throw new CorruptChunkError(`short file (${blocks.length} of ${where.length} bytes at ${where.offset})`);
  }
  verifyBlocks(header, blocks, where.firstBlock);
  return { start: where.firstBlock * BLOCK_BYTES, bytes: blocks };
}
