import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CorruptChunkError,
  chunkFileBytes,
  chunkHeaderLength,
  decodeChunk as decodeAt,
  encodeChunk as encodeFor,
  headerLengthOf,
  readChunkHeader as readHeaderAt,
  sealChunkHeader,
} from '../../../src/store/chunk-file.js';
import type { ChunkContent, ChunkPiece, Codec } from '../../../src/store/types.js';

const compressible = (n: number) =>
  Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(n / 45 + 1)).subarray(0, n);

/** The version every chunk of these tests belongs to, unless a test says otherwise. */
const TAG = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const OTHER_TAG = Buffer.from('00112233445566778899aabbccddeefe', 'hex');

async function encodeChunk(c: ChunkContent, codec: Codec, tag = TAG) {
  const encoded = await encodeFor(c, codec, tag);
  return { ...encoded, file: chunkFileBytes(encoded) };
}
const decodeChunk = (file: Buffer, index: number, full = false, tag = TAG) =>
  decodeAt(file, { index, tag }, full);
const readChunkHeader = (prefix: Buffer, index: number, tag = TAG) => readHeaderAt(prefix, { index, tag });

function content(index: number, pieces: ChunkPiece[], full = false): ChunkContent {
  return { index, full, pieces };
}

/**
 * Rewrites the header CRC after an edit, so that only the check under test can catch the edit;
 * `headerLength` is the header's length before the edit.
 */
function reseal(file: Buffer, headerLength: number): Buffer {
  const at = headerLength - 4;
  file.writeUInt32LE(crc32(file.subarray(0, at)), at);
  return file;
}

async function rejectsCorrupt(promise: Promise<unknown>, reason: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CorruptChunkError, `expected CorruptChunkError, got ${String(err)}`);
    assert.match(err.reason, reason);
    return true;
  });
}

describe('encodeChunk / decodeChunk round trip', () => {
  const cases: [string, Buffer, Codec, Codec][] = [
    ['random bytes, raw', randomBytes(65_536), 'raw', 'raw'],
    ['random bytes, lz4 asked (stored raw: LZ4 does not shrink them)', randomBytes(65_536), 'lz4', 'raw'],
    ['compressible bytes, raw', compressible(65_536), 'raw', 'raw'],
    ['compressible bytes, lz4', compressible(65_536), 'lz4', 'lz4'],
    ['one byte, lz4 asked', Buffer.from([7]), 'lz4', 'raw'],
  ];
  for (const [name, bytes, asked, used] of cases) {
    test(name, async () => {
      const encoded = await encodeChunk(content(3, [{ start: 0, bytes }], true), asked);
      assert.equal(encoded.codec, used);
      assert.equal(encoded.rawBytes, bytes.length);
      assert.equal(encoded.storedBytes, encoded.file.length);
      if (used === 'lz4') assert.ok(encoded.storedBytes < bytes.length / 4);
      const decoded = await decodeChunk(encoded.file, 3, true);
      assert.equal(decoded.index, 3);
      assert.equal(decoded.full, true);
      assert.equal(decoded.pieces.length, 1);
      assert.equal(decoded.pieces[0]?.start, 0);
      assert.ok(decoded.pieces[0]?.bytes.equals(bytes));
    });
  }

  test('several extents keep their offsets and bytes', async () => {
    for (const codec of ['raw', 'lz4'] as const) {
      const pieces = [
        { start: 10, bytes: compressible(100) },
        { start: 500, bytes: randomBytes(33) },
        { start: 0xffff_0000, bytes: compressible(4096) },
      ];
      const encoded = await encodeChunk(content(0xffff_ffff, pieces), codec);
      const decoded = await decodeChunk(encoded.file, 0xffff_ffff);
      assert.equal(decoded.full, false);
      assert.deepEqual(
        decoded.pieces.map((p) => [p.start, p.bytes.toString('hex')]),
        pieces.map((p) => [p.start, p.bytes.toString('hex')]),
      );
    }
  });

  test('adjacent pieces become one extent', async () => {
    const a = randomBytes(10);
    const b = randomBytes(20);
    const encoded = await encodeChunk(
      content(1, [
        { start: 5, bytes: a },
        { start: 15, bytes: b },
      ]),
      'raw',
    );
    const header = readChunkHeader(encoded.file, 1);
    assert.deepEqual(header.extents, [{ start: 5, end: 35 }]);
    const decoded = await decodeChunk(encoded.file, 1);
    assert.ok(decoded.pieces[0]?.bytes.equals(Buffer.concat([a, b])));
  });

  test('pieces that are empty, unsorted or overlapping are a caller bug', async () => {
    const bad: ChunkPiece[][] = [
      [],
      [{ start: 0, bytes: Buffer.alloc(0) }],
      [
        { start: 10, bytes: Buffer.alloc(5) },
        { start: 0, bytes: Buffer.alloc(5) },
      ],
      [
        { start: 0, bytes: Buffer.alloc(5) },
        { start: 4, bytes: Buffer.alloc(5) },
      ],
      [{ start: -1, bytes: Buffer.alloc(5) }],
    ];
    for (const pieces of bad) await assert.rejects(encodeChunk(content(0, pieces), 'raw'), RangeError);
  });
});

describe('sealChunkHeader', () => {
  test('an unsealed chunk is refused until it is sealed to its version', async () => {
    const bytes = randomBytes(1000);
    const encoded = await encodeFor(content(0, [{ start: 0, bytes }], true), 'raw', Buffer.alloc(16));
    await rejectsCorrupt(decodeChunk(chunkFileBytes(encoded), 0, true), /another object or version/);
    sealChunkHeader(encoded.header, TAG);
    const decoded = await decodeChunk(chunkFileBytes(encoded), 0, true);
    assert.ok(decoded.pieces[0]?.bytes.equals(bytes));
  });
});

describe('a cell that arrived in many pieces', () => {
  test('is one extent, written from the pieces as they are (no copy), raw or LZ4', async () => {
    const parts = [randomBytes(100), randomBytes(7), compressible(5000)];
    const pieces = [
      { start: 0, bytes: parts[0] as Buffer },
      { start: 100, bytes: parts[1] as Buffer },
      { start: 107, bytes: parts[2] as Buffer },
    ];
    const raw = await encodeFor(content(4, pieces, true), 'raw', TAG);
    assert.equal(raw.payload.length, 3);
    for (const [i, b] of raw.payload.entries()) assert.equal(b, parts[i], "the caller's own buffer");
    for (const codec of ['raw', 'lz4'] as const) {
      const { file } = await encodeChunk(content(4, pieces, true), codec);
      const decoded = await decodeChunk(file, 4, true);
      assert.deepEqual(readChunkHeader(file, 4).extents, [{ start: 0, end: 5107 }]);
      assert.ok(decoded.pieces[0]?.bytes.equals(Buffer.concat(parts)));
    }
  });
});

describe('readChunkHeader', () => {
  test('reads the header from a prefix of the file', async () => {
    const pieces = [
      { start: 0, bytes: compressible(1000) },
      { start: 2000, bytes: compressible(1000) },
    ];
    const { file } = await encodeChunk(content(9, pieces), 'lz4');
    const length = headerLengthOf(file.subarray(0, 24));
    assert.equal(length, chunkHeaderLength(2, 2000));
    const header = readChunkHeader(file.subarray(0, length), 9);
    assert.deepEqual(header.extents, [
      { start: 0, end: 1000 },
      { start: 2000, end: 3000 },
    ]);
    assert.equal(header.index, 9);
    assert.equal(header.codec, 'lz4');
    assert.equal(header.rawLength, 2000);
    assert.equal(header.payloadLength, file.length - length);
    assert.throws(() => readChunkHeader(file.subarray(0, length - 1), 9), CorruptChunkError);
    assert.throws(() => headerLengthOf(Buffer.from('NOTACHUNK')), CorruptChunkError);
  });
});

describe('decodeChunk refuses a damaged file', () => {
  const pieces = [
    { start: 100, bytes: compressible(20_000) },
    { start: 30_000, bytes: randomBytes(5_000) },
  ];
  for (const codec of ['raw', 'lz4'] as const) {
    test(`${codec}: a flipped payload byte, anywhere`, async () => {
      const { file } = await encodeChunk(content(2, pieces), codec);
      const headerLength = headerLengthOf(file);
      for (const at of [
        headerLength,
        headerLength + 1,
        headerLength + 4,
        (file.length + headerLength) >> 1,
        file.length - 1,
      ]) {
        const damaged = Buffer.from(file);
        damaged[at] = (damaged[at] as number) ^ 0x01;
        await assert.rejects(decodeChunk(damaged, 2), CorruptChunkError, `byte ${at}`);
      }
    });

    test(`${codec}: every flipped header byte`, async () => {
      const { file } = await encodeChunk(content(2, pieces), codec);
      for (let at = 0; at < headerLengthOf(file); at++) {
        const damaged = Buffer.from(file);
        damaged[at] = (damaged[at] as number) ^ 0x10;
        await assert.rejects(decodeChunk(damaged, 2), CorruptChunkError, `header byte ${at}`);
      }
    });

    test(`${codec}: truncated by one byte, one byte appended, or cut to the header`, async () => {
      const { file } = await encodeChunk(content(2, pieces), codec);
      await rejectsCorrupt(decodeChunk(file.subarray(0, file.length - 1), 2), /file is/);
      await rejectsCorrupt(decodeChunk(Buffer.concat([file, Buffer.from([0])]), 2), /file is/);
      await rejectsCorrupt(decodeChunk(file.subarray(0, headerLengthOf(file)), 2), /file is/);
      await rejectsCorrupt(decodeChunk(file.subarray(0, 10), 2), /short/);
      await rejectsCorrupt(decodeChunk(Buffer.alloc(0), 2), /short/);
    });

    test(`${codec}: another cell's chunk`, async () => {
      const { file } = await encodeChunk(content(2, pieces), codec);
      await rejectsCorrupt(decodeChunk(file, 3), /index 2 where 3/);
    });

    test(`${codec}: a sound chunk of another object or version`, async () => {
      const { file } = await encodeChunk(content(2, pieces), codec, OTHER_TAG);
      await rejectsCorrupt(decodeChunk(file, 2), /another object or version/);
      assert.throws(() => readChunkHeader(file, 2), /another object or version/);
    });
  }

  test('a partial chunk read under a full chunk name', async () => {
    const { file } = await encodeChunk(content(0, [{ start: 1, bytes: randomBytes(10) }]), 'raw');
    await rejectsCorrupt(decodeChunk(file, 0, true), /full chunk/);
  });

  test('forged headers with a valid header CRC', async () => {
    const forge = async (edit: (f: Buffer) => void, reason: RegExp) => {
      const { file } = await encodeChunk(content(0, pieces), 'raw');
      const headerLength = headerLengthOf(file);
      edit(file);
      await rejectsCorrupt(decodeChunk(reseal(file, headerLength), 0), reason);
    };
    // Swap the two extents: unsorted.
    await forge((f) => {
      const first = Buffer.from(f.subarray(40, 48));
      f.copy(f, 40, 48, 56);
      first.copy(f, 48);
    }, /unsorted/);
    // Second extent starting inside the first: overlapping.
    await forge((f) => f.writeUInt32LE(200, 48), /unsorted|extents hold/);
    // An empty extent.
    await forge((f) => f.writeUInt32LE(100, 44), /empty extent/);
    // Raw length that is not the extents' sum.
    await forge((f) => f.writeUInt32LE(f.readUInt32LE(12) + 1, 12), /extents hold/);
    // Unknown codec and format, bad magic, no extents.
    await forge((f) => f.writeUInt8(2, 5), /unknown codec/);
    await forge((f) => f.writeUInt8(4, 4), /unknown format 4/);
    // A format 1 file (from before chunks named their version) is a miss, refetched in the new format.
    await forge((f) => f.writeUInt8(1, 4), /unknown format 1/);
    await forge((f) => f.write('KURX', 0, 'latin1'), /bad magic/);
    await forge((f) => f.writeUInt16LE(0, 6), /no extents/);
    // A block CRC that does not match the bytes (the table follows the two extents).
    await forge((f) => f.writeUInt32LE((f.readUInt32LE(56) ^ 1) >>> 0, 56), /CRC mismatch/);
    // A block size that is no power of two, or out of bounds: refused before the header CRC is found.
    for (const size of [65_537, 1024, 2 ** 31]) {
      const { file } = await encodeChunk(content(0, pieces), 'raw');
      file.writeUInt32LE(size, 20);
      await rejectsCorrupt(decodeChunk(file, 0), /block size/);
    }
  });

  test('an LZ4 block whose length prefix lies is refused before decompressing', async () => {
    const { file } = await encodeChunk(content(0, [{ start: 0, bytes: compressible(10_000) }]), 'lz4');
    const at = headerLengthOf(file);
    const damaged = Buffer.from(file);
    damaged.writeUInt32LE(0xffff_fff0, at);
    const started = Date.now();
    await rejectsCorrupt(decodeChunk(damaged, 0), /LZ4 block length/);
    assert.ok(Date.now() - started < 1000);
  });

  test('an LZ4 payload that does not decompress', async () => {
    const { file } = await encodeChunk(content(0, [{ start: 0, bytes: compressible(10_000) }]), 'lz4');
    const damaged = Buffer.from(file);
    damaged.fill(0xff, headerLengthOf(file) + 4);
    await assert.rejects(decodeChunk(damaged, 0), CorruptChunkError);
  });
});
