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
  /** The block size the file is taken to have: the header says whether it has. */
  blockBytes: number;
  headerLength: number;
  /** The first block read, and the file offset and length of the blocks read. */
  firstBlock: number;
  offset: number;
  length: number;
}

export function rangeInFile(
  cellLength: number,
  from: number,
  to: number,
  blockBytes = BLOCK_BYTES,
): RangeInFile {
  const headerLength = chunkHeaderLength(1, cellLength, blockBytes);
  const firstBlock = Math.floor(from / blockBytes);
  const end = Math.min(cellLength, Math.ceil(to / blockBytes) * blockBytes);
  const start = firstBlock * blockBytes;
  return { blockBytes, headerLength, firstBlock, offset: headerLength + start, length: end - start };
}

/**
 * The verified bytes of the blocks `where` names, from a full chunk's header and those blocks as read
 * (possibly short), or null when the file cannot be read in those blocks (LZ4, format 2, another block
 * size than `where` took): the caller looks at its header. Throws `CorruptChunkError` as `decodeChunk`
 * does.
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
    header.blockBytes !== where.blockBytes ||
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
  return { start: where.firstBlock * where.blockBytes, bytes: blocks };
}

/** A version whose ranges are read whole. */
const READ_WHOLE = 0;

/**
 * How the full chunks of recent versions are read in blocks, found from their headers: in `BLOCK_BYTES`
 * blocks unless a chunk of the version was found otherwise. A version written in blocks of another size
 * (by an older Kura) is read by that size; one in LZ4, or in format 2 (one CRC of all), is read whole.
 * Kept by tag (`Volume.versionTag`, one buffer per recent version), forgotten with it.
 */
export class BlockSizes {
  readonly #found = new WeakMap<Buffer, number>();

  /** Where the blocks of `[from, to)` lie in a full chunk of the version, or null to read it whole. */
  where(tag: Buffer, cellLength: number, from: number, to: number): RangeInFile | null {
    const blockBytes = this.#found.get(tag) ?? BLOCK_BYTES;
    return blockBytes === READ_WHOLE ? null : rangeInFile(cellLength, from, to, blockBytes);
  }

  /** Takes the version's layout from the checked header of one of its full chunks. */
  learn(tag: Buffer, header: ChunkHeader, cellLength: number): void {
    const inBlocks =
      header.codec === 'raw' && header.headerLength === chunkHeaderLength(1, cellLength, header.blockBytes);
    this.#found.set(tag, inBlocks ? header.blockBytes : READ_WHOLE);
  }
}
