// The chunk file codec. A chunk file is trusted only after every check below passes: a file that is short,
// long, flipped or from another cell is a miss (docs/architecture.md, rule 2), never bytes sent to a client.
//
// Layout, little-endian:
//   0      4   magic "KURC"
//   4      1   format = 3
//   5      1   codec: 0 raw, 1 lz4
//   6      2   extent count n (u16, >= 1)
//   8      4   chunk index (u32)
//   12     4   raw length (u32) = sum of extent lengths
//   16     4   payload length (u32) = bytes after the header
//   20     4   block size B: the raw bytes are checksummed in blocks of B bytes (a power of two)
//   24     16  version tag: which object version the chunk belongs to (`versionTag`), so a valid chunk
//              of another object or version at this path is refused, not served
//   40     8n  extents: start u32, end u32 — cell-relative, half-open, sorted, disjoint, adjacent ones merged
//   40+8n  4b  CRC32 of each block of the raw bytes, b = ceil(raw length / B) (the last may be shorter)
//   h-4    4   CRC32 of header bytes [0, h-4), h = 44 + 8n + 4b
//   h          payload: the raw bytes concatenated in extent order, or (lz4) their LZ4 block preceded by
//              its decompressed length as u32 (lz4-napi's size-prepended block; that length must equal
//              the raw length, which is checked before decompressing so a flipped byte cannot make the
//              decompressor allocate gigabytes)
//
// A CRC per block lets a range of a raw full chunk be read and verified alone (chunk-ranges.ts): a 64 KiB
// range hit reads and checksums the five 16 KiB blocks that hold it at most, not the whole chunk.
// Format 2 files (one CRC32 of all the raw bytes at 20, no block table) are still read whole, as one
// block; format 1 files (no version tag) fail the format check: a miss, refetched and rewritten.

import { crc32 } from '@node-rs/crc32';
// The synchronous calls on purpose: lz4-napi's promise-returning `compress`/`uncompress` allocate their
// output on a libuv pool thread with the addon's own allocator (mimalloc), and V8 frees it later from the
// main thread; memory freed across threads that way is not given back (measured on Linux: RSS grew by each
// output's size, up to about 1.6 GiB, and stayed after a full GC). A fill or a read from the cache then
// held as much native memory as it had decoded. The synchronous calls allocate and free on one thread and
// return a buffer of Node's own, at a few milliseconds of the event loop per 4 MiB chunk.
import { compressSync, uncompressSync } from 'lz4-napi';
import type { ChunkContent, ChunkPiece, Codec, Extent } from './types.js';

const MAGIC = Buffer.from('KURC', 'latin1');
const FORMAT = 3;
/** Still read: one CRC of all the raw bytes where format 3 has its block size. */
const FORMAT_WHOLE_CRC = 2;
const CODEC_RAW = 0;
const CODEC_LZ4 = 1;
/** Bytes before the extents. */
export const CHUNK_HEADER_FIXED_BYTES = 40;
const TAG_AT = 24;
export const VERSION_TAG_BYTES = 16;
export const MAX_EXTENTS = 0xffff;
const U32_MAX = 0xffff_ffff;
/**
 * Bytes per checksummed block of the chunks written now: a range read reads and checksums whole blocks,
 * so this is its granularity, against 4 header bytes per block and a checksum call per block. At 16 KiB
 * an engine's range request (4 KiB to a few hundred KiB, anywhere in the object) reads at most 32 KiB
 * more than it asked for (bench/README.md, "Ranges from the volume"); files written with other sizes
 * (64 KiB before) are read by the size in their header.
 */
export const BLOCK_BYTES = 16 * 1024;
const MIN_BLOCK_BYTES = 4096;
const MAX_BLOCK_BYTES = 2 ** 30;

/** A chunk file that must not be used; `reason` says which check failed. */
export class CorruptChunkError extends Error {
  override name = 'CorruptChunkError';
  readonly reason: string;
  constructor(reason: string) {
    super(`corrupt chunk file: ${reason}`);
    this.reason = reason;
  }
}

export interface ChunkHeader {
  codec: Codec;
  index: number;
  rawLength: number;
  payloadLength: number;
  /** Bytes per checksummed block of the raw bytes (a format 2 file: its raw length, one block). */
  blockBytes: number;
  /** CRC32 of each block of the raw bytes, in order. */
  blockCrcs: number[];
  /** The version the chunk was written for (`VERSION_TAG_BYTES` bytes). */
  tag: Buffer;
  extents: Extent[];
  /** Header bytes including its CRC; the payload starts here. */
  headerLength: number;
}

/** Which cell of which version a chunk file must hold. */
export interface ChunkPlace {
  index: number;
  /** The version's tag (`Volume.versionTag`). */
  tag: Buffer;
}

/**
 * A chunk ready to be written: `header`, then `payload` in order. The payload's buffers are the caller's
 * own when stored raw, so a cell that arrived in many pieces is written without being copied together.
 */
export interface EncodedChunk {
  header: Buffer;
  payload: Buffer[];
  /** The codec actually used: 'raw' when LZ4 did not make the payload smaller. */
  codec: Codec;
  rawBytes: number;
  /** Size of the file: header and payload. */
  storedBytes: number;
}

/** Blocks of `blockBytes` the raw bytes of a chunk are checksummed in. */
function blockCount(rawLength: number, blockBytes: number): number {
  return Math.ceil(rawLength / blockBytes);
}

/** Header length of a format 3 chunk with `extentCount` extents holding `rawLength` bytes. */
export function chunkHeaderLength(extentCount: number, rawLength: number, blockBytes = BLOCK_BYTES): number {
  return CHUNK_HEADER_FIXED_BYTES + 8 * extentCount + 4 * blockCount(rawLength, blockBytes) + 4;
}

/** The longest header of a chunk holding at most `chunkSize` bytes. */
export function maxChunkHeaderLength(chunkSize: number): number {
  return chunkHeaderLength(MAX_EXTENTS, chunkSize, MIN_BLOCK_BYTES);
}

/**
 * How many bytes the header of the file starting with `prefix` spans, from its first 24 bytes, so a
 * probe can read exactly the header. Throws `CorruptChunkError` when the prefix is not a chunk file's.
 */
export function headerLengthOf(prefix: Buffer): number {
  if (prefix.length < TAG_AT) throw new CorruptChunkError(`short file (${prefix.length} bytes)`);
  checkLeadingBytes(prefix);
  const n = prefix.readUInt16LE(6);
  if (prefix[4] === FORMAT_WHOLE_CRC) return CHUNK_HEADER_FIXED_BYTES + 8 * n + 4;
  return chunkHeaderLength(n, prefix.readUInt32LE(12), blockBytesOf(prefix));
}

/**
 * The checked header of a chunk file from its first bytes (at least `headerLengthOf(prefix)` of them),
 * refused unless it is the header of cell `place.index` of the version `place.tag` names. Only the
 * header is verified: the payload needs `decodeChunk`.
 */
export function readChunkHeader(prefix: Buffer, place: ChunkPlace): ChunkHeader {
  if (prefix.length < CHUNK_HEADER_FIXED_BYTES + 12)
    throw new CorruptChunkError(`short file (${prefix.length} bytes)`);
  const headerLength = headerLengthOf(prefix);
  if (prefix.length < headerLength) {
    throw new CorruptChunkError(`short header (${prefix.length} of ${headerLength} bytes)`);
  }
  const crcAt = headerLength - 4;
  if (crc32(prefix.subarray(0, crcAt)) !== prefix.readUInt32LE(crcAt)) {
    throw new CorruptChunkError('header CRC mismatch');
  }
  const index = prefix.readUInt32LE(8);
  if (index !== place.index) {
    throw new CorruptChunkError(`chunk index ${index} where ${place.index} was expected`);
  }
  const tag = prefix.subarray(TAG_AT, TAG_AT + VERSION_TAG_BYTES);
  if (!tag.equals(place.tag)) throw new CorruptChunkError('chunk of another object or version');
  const n = prefix.readUInt16LE(6);
  const extents: Extent[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const start = prefix.readUInt32LE(CHUNK_HEADER_FIXED_BYTES + 8 * i);
    const end = prefix.readUInt32LE(CHUNK_HEADER_FIXED_BYTES + 8 * i + 4);
    const previous = extents[i - 1];
    if (end <= start) throw new CorruptChunkError(`empty extent [${start}, ${end})`);
    if (previous && start <= previous.end)
      throw new CorruptChunkError('extents unsorted, overlapping or unmerged');
    extents.push({ start, end });
    sum += end - start;
  }
  const rawLength = prefix.readUInt32LE(12);
  if (sum !== rawLength) throw new CorruptChunkError(`extents hold ${sum} bytes, header says ${rawLength}`);
  const blocksAt = CHUNK_HEADER_FIXED_BYTES + 8 * n;
  const wholeCrc = prefix[4] === FORMAT_WHOLE_CRC;
  const blockBytes = wholeCrc ? rawLength : blockBytesOf(prefix);
  const blockCrcs: number[] = [];
  if (wholeCrc) blockCrcs.push(prefix.readUInt32LE(20));
  else for (let at = blocksAt; at < crcAt; at += 4) blockCrcs.push(prefix.readUInt32LE(at));
  return {
    codec: prefix[5] === CODEC_LZ4 ? 'lz4' : 'raw',
    index,
    rawLength,
    payloadLength: prefix.readUInt32LE(16),
    blockBytes,
    blockCrcs,
    tag,
    extents,
    headerLength,
  };
}

function checkLeadingBytes(prefix: Buffer): void {
  if (!prefix.subarray(0, 4).equals(MAGIC)) throw new CorruptChunkError('bad magic');
  if (prefix[4] !== FORMAT && prefix[4] !== FORMAT_WHOLE_CRC)
    throw new CorruptChunkError(`unknown format ${prefix[4]}`);
  if (prefix[5] !== CODEC_RAW && prefix[5] !== CODEC_LZ4)
    throw new CorruptChunkError(`unknown codec ${prefix[5]}`);
  if (prefix.readUInt16LE(6) === 0) throw new CorruptChunkError('no extents');
}

/** A format 3 header's block size, refused unless a power of two the format allows. */
function blockBytesOf(prefix: Buffer): number {
  const b = prefix.readUInt32LE(20);
  if (!allowedBlockBytes(b)) throw new CorruptChunkError(`block size ${b}`);
  return b;
}

/** A power of two within the format's bounds. */
function allowedBlockBytes(b: number): boolean {
  return b >= MIN_BLOCK_BYTES && b <= MAX_BLOCK_BYTES && (b & (b - 1)) === 0;
}

/** Throws unless blocks `first..` of the raw bytes, whose bytes `raw` holds from block `first` on, match. */
export function verifyBlocks(header: ChunkHeader, raw: Buffer, first: number): void {
  const b = header.blockBytes;
  for (let at = 0, i = first; at < raw.length; at += b, i++) {
    if (crc32(raw.subarray(at, at + b)) !== header.blockCrcs[i]) throw new CorruptChunkError('CRC mismatch');
  }
}

/**
 * Decodes and verifies a whole chunk file. `full` says whether it was read from a full chunk's name (the
 * header does not say): a full chunk must then be one extent starting at the cell's start.
 * The pieces are views into `file`, or into the decompressed buffer.
 */
export async function decodeChunk(file: Buffer, place: ChunkPlace, full = false): Promise<ChunkContent> {
  const header = readChunkHeader(file, place);
  if (file.length !== header.headerLength + header.payloadLength) {
    throw new CorruptChunkError(
      `file is ${file.length} bytes, header says ${header.headerLength + header.payloadLength}`,
    );
  }
  const first = header.extents[0] as Extent;
  if (full && (header.extents.length !== 1 || first.start !== 0)) {
    throw new CorruptChunkError('a full chunk must be one extent from the start of its cell');
  }
  const payload = file.subarray(header.headerLength);
  let raw: Buffer;
  if (header.codec === 'raw') {
    if (payload.length !== header.rawLength) {
      throw new CorruptChunkError(`raw payload is ${payload.length} bytes, header says ${header.rawLength}`);
    }
    raw = payload;
  } else {
    if (payload.length < 4 || payload.readUInt32LE(0) !== header.rawLength) {
      throw new CorruptChunkError('LZ4 block length does not match the raw length');
    }
    try {
      raw = uncompressSync(payload);
    } catch (err) {
      throw new CorruptChunkError(
        `LZ4 decompression failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (raw.length !== header.rawLength) {
      throw new CorruptChunkError(`decompressed to ${raw.length} bytes, header says ${header.rawLength}`);
    }
  }
  verifyBlocks(header, raw, 0);
  const pieces: ChunkPiece[] = [];
  let at = 0;
  for (const e of header.extents) {
    pieces.push({ start: e.start, bytes: raw.subarray(at, at + e.end - e.start) });
    at += e.end - e.start;
  }
  return { index: header.index, full, pieces };
}

/**
 * Encodes a chunk of the version `tag` names, its raw bytes checksummed in blocks of `blockBytes` (a
 * power of two the format allows). Pieces must be sorted, disjoint and non-empty; adjacent ones form one
 * extent (a cell that arrived in many pieces is one extent, its pieces written as they are). A caller
 * that breaks this has a bug, so it throws a RangeError rather than writing a file that would not decode.
 */
export async function encodeChunk(
  content: ChunkContent,
  codec: Codec,
  tag: Buffer,
  blockBytes = BLOCK_BYTES,
): Promise<EncodedChunk> {
  const { index, pieces } = content;
  if (!Number.isInteger(index) || index < 0 || index > U32_MAX) throw new RangeError(`chunk index ${index}`);
  if (tag.length !== VERSION_TAG_BYTES) throw new RangeError(`version tag of ${tag.length} bytes`);
  if (!allowedBlockBytes(blockBytes)) throw new RangeError(`block size ${blockBytes}`);
  const extents = extentsOf(pieces);
  if (extents.length > MAX_EXTENTS) throw new RangeError(`${extents.length} extents exceed ${MAX_EXTENTS}`);
  let rawLength = 0;
  for (const p of pieces) rawLength += p.bytes.length;
  if (rawLength > U32_MAX) throw new RangeError(`chunk of ${rawLength} bytes`);
  const crcs = blockCrcsOf(pieces, blockBytes);

  let payload = pieces.map((p) => p.bytes);
  let used: Codec = 'raw';
  if (codec === 'lz4') {
    const raw = payload.length === 1 ? (payload[0] as Buffer) : Buffer.concat(payload, rawLength);
    const compressed = compressSync(raw);
    if (compressed.length < rawLength) {
      payload = [compressed];
      used = 'lz4';
    }
  }
  const payloadLength = used === 'lz4' ? (payload[0] as Buffer).length : rawLength;

  const headerLength = chunkHeaderLength(extents.length, rawLength, blockBytes);
  const header = Buffer.allocUnsafe(headerLength);
  MAGIC.copy(header, 0);
  header[4] = FORMAT;
  header[5] = used === 'lz4' ? CODEC_LZ4 : CODEC_RAW;
  header.writeUInt16LE(extents.length, 6);
  header.writeUInt32LE(index, 8);
  header.writeUInt32LE(rawLength, 12);
  header.writeUInt32LE(payloadLength, 16);
  header.writeUInt32LE(blockBytes, 20);
  extents.forEach((e, i) => {
    header.writeUInt32LE(e.start, CHUNK_HEADER_FIXED_BYTES + 8 * i);
    header.writeUInt32LE(e.end, CHUNK_HEADER_FIXED_BYTES + 8 * i + 4);
  });
  const blocksAt = CHUNK_HEADER_FIXED_BYTES + 8 * extents.length;
  crcs.forEach((crc, i) => {
    header.writeUInt32LE(crc, blocksAt + 4 * i);
  });
  sealChunkHeader(header, tag);
  return { header, payload, codec: used, rawBytes: rawLength, storedBytes: headerLength + payloadLength };
}

/** CRC32 of each `blockBytes` of the pieces' bytes taken in order, pieces not copied together. */
function blockCrcsOf(pieces: readonly ChunkPiece[], blockBytes: number): number[] {
  const crcs: number[] = [];
  let crc = 0;
  let filled = 0;
  for (const { bytes } of pieces) {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(blockBytes - filled, bytes.length - at);
      crc = crc32(bytes.subarray(at, at + n), crc);
      filled += n;
      at += n;
      if (filled === blockBytes) {
        crcs.push(crc);
        crc = 0;
        filled = 0;
      }
    }
  }
  if (filled > 0) crcs.push(crc);
  return crcs;
}

/**
 * Writes `tag` into an encoded header and recomputes its CRC: an upload's chunks are staged before S3
 * names the version, and are sealed to it when it does.
 */
export function sealChunkHeader(header: Buffer, tag: Buffer): void {
  if (tag.length !== VERSION_TAG_BYTES) throw new RangeError(`version tag of ${tag.length} bytes`);
  tag.copy(header, TAG_AT);
  header.writeUInt32LE(crc32(header.subarray(0, header.length - 4)), header.length - 4);
}

/** The whole file of an encoded chunk, for callers that want one buffer (tests, tools). */
export function chunkFileBytes(encoded: EncodedChunk): Buffer {
  return Buffer.concat([encoded.header, ...encoded.payload]);
}

function extentsOf(pieces: readonly ChunkPiece[]): Extent[] {
  if (pieces.length === 0) throw new RangeError('a chunk needs at least one piece');
  const extents: Extent[] = [];
  for (const p of pieces) {
    const end = p.start + p.bytes.length;
    if (!Number.isInteger(p.start) || p.start < 0 || end > U32_MAX) {
      throw new RangeError(`piece [${p.start}, ${end}) is outside a cell`);
    }
    if (p.bytes.length === 0) throw new RangeError(`empty piece at ${p.start}`);
    const last = extents[extents.length - 1];
    if (last && p.start < last.end) throw new RangeError('pieces must be sorted and disjoint');
    if (last && p.start === last.end) last.end = end;
    else extents.push({ start: p.start, end });
  }
  return extents;
}
