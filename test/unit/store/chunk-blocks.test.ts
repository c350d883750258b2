// Format 3 chunk files checksum their bytes per block, so that a range of a full chunk is read and
// verified alone; format 2 files (one CRC of everything) are still read whole.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  BLOCK_BYTES,
  CorruptChunkError,
  chunkFileBytes,
  chunkHeaderLength,
  decodeChunk,
  encodeChunk,
  readChunkHeader,
} from '../../../src/store/chunk-file.js';
import { decodeRange, rangeInFile } from '../../../src/store/chunk-ranges.js';
import type { Codec } from '../../../src/store/types.js';
import { formatTwoFile } from '../../support/chunk-files.js';

const TAG = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const CELL = 3 * BLOCK_BYTES + 12_345;
const RAW = randomBytes(CELL);

async function fullChunk(bytes: Buffer, codec: Codec = 'raw'): Promise<Buffer> {
  return chunkFileBytes(
    await encodeChunk({ index: 5, full: true, pieces: [{ start: 0, bytes }] }, codec, TAG),
  );
}

/** What a range read of `file` gets: the header, and the blocks `rangeInFile` names (short at its end). */
function rangeRead(file: Buffer, from: number, to: number, cellLength = CELL) {
  const where = rangeInFile(cellLength, from, to);
  const head = readChunkHeader(file.subarray(0, where.headerLength), { index: 5, tag: TAG });
  return { where, head, blocks: file.subarray(where.offset, where.offset + where.length) };
}

describe('a format 3 chunk', () => {
  test('has one CRC32 per block of its raw bytes, the last block short', async () => {
    const file = await fullChunk(RAW);
    const header = readChunkHeader(file, { index: 5, tag: TAG });
    assert.equal(file[4], 3);
    assert.equal(header.headerLength, chunkHeaderLength(1, CELL));
    assert.equal(header.blockBytes, BLOCK_BYTES);
    const expected = [0, 1, 2, 3].map((i) => crc32(RAW.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES)));
    assert.deepEqual(header.blockCrcs, expected);
  });

  test('a range is read in the blocks that hold it, and gives the bytes of the cell', async () => {
    const file = await fullChunk(RAW);
    for (const [from, to] of [
      [0, 100],
      [BLOCK_BYTES - 10, BLOCK_BYTES + 10],
      [BLOCK_BYTES + 4_000, 2 * BLOCK_BYTES + 9_000],
      [CELL - 5, CELL],
      [3 * BLOCK_BYTES, CELL],
    ] as const) {
      const { where, head, blocks } = rangeRead(file, from, to);
      assert.ok(where.length < CELL, `${from}-${to}: fewer bytes than the cell`);
      const piece = decodeRange(head, blocks, where, CELL);
      assert.ok(piece, `${from}-${to}`);
      assert.equal(piece.start % BLOCK_BYTES, 0);
      assert.ok(piece.bytes.subarray(from - piece.start, to - piece.start).equals(RAW.subarray(from, to)));
    }
  });

  test('damage outside the blocks read is not looked at; damage inside them is refused', async () => {
    const file = await fullChunk(RAW);
    const headerLength = chunkHeaderLength(1, CELL);
    const damaged = Buffer.from(file);
    damaged.writeUInt8(
      (damaged[headerLength + 3 * BLOCK_BYTES + 7] as number) ^ 0x01,
      headerLength + 3 * BLOCK_BYTES + 7,
    );
    const inBlock1 = rangeRead(damaged, BLOCK_BYTES + 1, BLOCK_BYTES + 100);
    const piece = decodeRange(inBlock1.head, inBlock1.blocks, inBlock1.where, CELL);
    assert.ok(piece?.bytes.equals(RAW.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES)));
    const inBlock3 = rangeRead(damaged, CELL - 100, CELL);
    assert.throws(() => decodeRange(inBlock3.head, inBlock3.blocks, inBlock3.where, CELL), /CRC mismatch/);
    // The whole file is refused as before.
    await assert.rejects(decodeChunk(damaged, { index: 5, tag: TAG }, true), /CRC mismatch/);
  });

  test('a file that ends early is refused; one of another length than the cell is refused', async () => {
    const file = await fullChunk(RAW);
    const cut = file.subarray(0, file.length - 1);
    const r = rangeRead(cut, CELL - 10, CELL);
    assert.throws(() => decodeRange(r.head, r.blocks, r.where, CELL), /short file/);
    const other = rangeRead(file, 0, 10, CELL + 1);
    assert.throws(() => decodeRange(other.head, other.blocks, other.where, CELL + 1), CorruptChunkError);
  });

  test('an LZ4 chunk is not read in blocks: null, for a whole read', async () => {
    const text = Buffer.from('all work and no play '.repeat(20_000)).subarray(0, CELL);
    const file = await fullChunk(text, 'lz4');
    assert.equal(file[5], 1, 'stored as LZ4');
    const r = rangeRead(file, 100, 200);
    assert.equal(decodeRange(r.head, r.blocks, r.where, CELL), null);
    const whole = await decodeChunk(file, { index: 5, tag: TAG }, true);
    assert.ok(whole.pieces[0]?.bytes.equals(text));
  });
});

describe('a format 2 chunk (before blocks)', () => {
  test('is read whole and verified by its one CRC; a range read gives null', async () => {
    const file = formatTwoFile(RAW, 5, TAG);
    const whole = await decodeChunk(file, { index: 5, tag: TAG }, true);
    assert.ok(whole.pieces[0]?.bytes.equals(RAW));
    const r = rangeRead(file, 100, 200);
    assert.equal(decodeRange(r.head, r.blocks, r.where, CELL), null);
    const damaged = Buffer.from(file);
    damaged.writeUInt8((damaged[file.length - 1] as number) ^ 0x01, file.length - 1);
    await assert.rejects(decodeChunk(damaged, { index: 5, tag: TAG }, true), /CRC mismatch/);
  });
});
