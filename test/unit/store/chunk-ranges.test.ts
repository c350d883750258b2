// ChunkStore.readRange: a range of a full chunk read from the volume in the blocks that hold it, verified,
// with the file removed when those blocks are damaged, and null wherever a whole read must decide.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  BLOCK_BYTES,
  chunkFileBytes,
  chunkHeaderLength,
  encodeChunk,
} from '../../../src/store/chunk-file.js';
import type { ChunkPiece } from '../../../src/store/types.js';
import { formatTwoFile } from '../../support/chunk-files.js';
import { onEachVolume, version } from '../../support/chunk-store.js';
import { present } from '../../support/volume-files.js';

const CELL = 1024 * 1024;

/** Bytes `[from, to)` of the cell from a piece that holds them. */
function slice(piece: ChunkPiece | null, from: number, to: number): Buffer | undefined {
  assert.ok(piece, 'a piece');
  assert.ok(piece.start <= from && to <= piece.start + piece.bytes.length, 'the piece holds the range');
  return piece.bytes.subarray(from - piece.start, to - piece.start);
}

onEachVolume((ctx) => {
  test('reads only the blocks a range needs, and gives its bytes', async () => {
    const v = version();
    const bytes = randomBytes(CELL);
    await ctx.store.write(v, 2, CELL, [{ start: 0, bytes }], 'raw');
    for (const [from, to] of [
      [0, 1],
      [100_000, 100_000 + 65_536],
      [CELL - 65_536, CELL],
    ] as const) {
      const piece = await ctx.store.readRange(v, 2, CELL, from, to);
      assert.ok(slice(piece, from, to)?.equals(bytes.subarray(from, to)));
      assert.equal((piece?.start ?? 0) % BLOCK_BYTES, 0);
      assert.ok((piece?.start ?? 0) > from - BLOCK_BYTES, 'no block before the range');
      assert.ok((piece?.start ?? 0) + (piece?.bytes.length ?? 0) < to + BLOCK_BYTES, 'no block after it');
    }
    assert.deepEqual(ctx.corrupt, []);
  });

  test('a damaged block in the range: null, the file removed and reported', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
    const path = ctx.volume.chunkPath(v, 0, false);
    const file = await readFile(path);
    const at = chunkHeaderLength(1, CELL) + 5 * BLOCK_BYTES + 17;
    file.writeUInt8((file[at] as number) ^ 0x40, at);
    await writeFile(path, file);
    assert.equal(await ctx.store.readRange(v, 0, CELL, 5 * BLOCK_BYTES, 5 * BLOCK_BYTES + 10), null);
    assert.equal(await present(path), false);
    assert.deepEqual(
      ctx.corrupt.map(([p, reason]) => [p, reason]),
      [[path, 'CRC mismatch']],
    );
  });

  test('a file cut short within the range: null, removed', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
    const path = ctx.volume.chunkPath(v, 0, false);
    const file = await readFile(path);
    await writeFile(path, file.subarray(0, file.length - 1000));
    assert.equal(await ctx.store.readRange(v, 0, CELL, CELL - 10, CELL), null);
    assert.equal(await present(path), false);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /short file/);
  });

  test('no full chunk, or an LZ4 one: null, and the file stays for a whole read', async () => {
    const v = version();
    assert.equal(await ctx.store.readRange(v, 0, CELL, 0, 10), null);
    const text = Buffer.alloc(CELL, 'compressible ');
    await ctx.store.write(v, 1, CELL, [{ start: 0, bytes: text }], 'lz4');
    assert.equal(await ctx.store.readRange(v, 1, CELL, 0, 10), null);
    assert.ok((await ctx.store.read(v, 1, CELL))?.pieces[0]?.bytes.equals(text));
    // A partial chunk is read whole too.
    await ctx.store.write(v, 3, CELL, [{ start: 0, bytes: randomBytes(1000) }], 'raw');
    assert.equal(await ctx.store.readRange(v, 3, CELL, 0, 10), null);
    assert.deepEqual(ctx.corrupt, []);
  });

  test('once a chunk of a version is found LZ4, its ranges go to whole reads at once', async () => {
    const v = version();
    const raw = randomBytes(CELL);
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: raw }], 'raw');
    await ctx.store.write(v, 1, CELL, [{ start: 0, bytes: Buffer.alloc(CELL, 'text ') }], 'lz4');
    assert.ok(slice(await ctx.store.readRange(v, 0, CELL, 10, 20), 10, 20)?.equals(raw.subarray(10, 20)));
    assert.equal(await ctx.store.readRange(v, 1, CELL, 10, 20), null);
    // The raw chunk too, now: the version's chunks are taken for LZ4 ones, read whole by the caller.
    assert.equal(await ctx.store.readRange(v, 0, CELL, 10, 20), null);
    assert.ok((await ctx.store.read(v, 0, CELL))?.pieces[0]?.bytes.equals(raw));
    // Another version is not affected.
    const w = version();
    await ctx.store.write(w, 0, CELL, [{ start: 0, bytes: raw }], 'raw');
    assert.ok(await ctx.store.readRange(w, 0, CELL, 10, 20));
    assert.deepEqual(ctx.corrupt, []);
  });

  test("chunks in blocks of another size (an older Kura's) are read in their own blocks", async () => {
    const v = version();
    const tag = ctx.volume.versionTag(v);
    const cells = [randomBytes(CELL), randomBytes(CELL), randomBytes(CELL)];
    // Larger blocks (a shorter header than the range read takes it to have), and smaller ones.
    const sizes = [4 * BLOCK_BYTES, BLOCK_BYTES / 4, BLOCK_BYTES];
    for (const [index, blockBytes] of sizes.entries()) {
      const pieces = [{ start: 0, bytes: cells[index] as Buffer }];
      const encoded = await encodeChunk({ index, full: true, pieces }, 'raw', tag, blockBytes);
      await mkdir(ctx.volume.versionDir(v), { recursive: true });
      await writeFile(ctx.volume.chunkPath(v, index, false), chunkFileBytes(encoded));
    }
    for (const [index] of sizes.entries()) {
      const whole = await ctx.store.read(v, index, CELL);
      assert.ok(whole?.pieces[0]?.bytes.equals(cells[index] as Buffer), 'read whole too');
    }
    for (let pass = 0; pass < 2; pass++) {
      for (const [index, blockBytes] of sizes.entries()) {
        const [from, to] = [300_000, 300_000 + 20_000];
        const piece = await ctx.store.readRange(v, index, CELL, from, to);
        assert.ok(slice(piece, from, to)?.equals((cells[index] as Buffer).subarray(from, to)));
        assert.equal((piece?.start ?? 0) % blockBytes, 0, "the file's own blocks");
        assert.ok((piece?.bytes.length ?? 0) <= 20_000 + 2 * blockBytes);
      }
    }
    assert.deepEqual(ctx.corrupt, []);
    // A damaged block of such a file is found as in any other.
    const path = ctx.volume.chunkPath(v, 0, false);
    const file = await readFile(path);
    const at = chunkHeaderLength(1, CELL, 4 * BLOCK_BYTES) + 600_000;
    file.writeUInt8((file[at] as number) ^ 0x01, at);
    await writeFile(path, file);
    assert.equal(await ctx.store.readRange(v, 0, CELL, 600_000, 600_001), null);
    assert.deepEqual(ctx.corrupt, [[path, 'CRC mismatch']]);
  });

  test('a format 2 chunk (one CRC of all): null, read whole, the file kept', async () => {
    const v = version();
    const bytes = randomBytes(CELL);
    await mkdir(ctx.volume.versionDir(v), { recursive: true });
    await writeFile(ctx.volume.chunkPath(v, 0, false), formatTwoFile(bytes, 0, ctx.volume.versionTag(v)));
    assert.equal(await ctx.store.readRange(v, 0, CELL, 10, 20), null);
    assert.equal(await ctx.store.readRange(v, 0, CELL, 10, 20), null);
    assert.ok((await ctx.store.read(v, 0, CELL))?.pieces[0]?.bytes.equals(bytes));
    assert.deepEqual(ctx.corrupt, []);
  });

  test('a full chunk of another length than the cell: null, removed', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL - 1, [{ start: 0, bytes: randomBytes(CELL - 1) }], 'raw');
    assert.equal(await ctx.store.readRange(v, 0, CELL, 0, 10), null);
    assert.equal(await present(ctx.volume.chunkPath(v, 0, false)), false);
    assert.equal(ctx.corrupt.length, 1);
  });
}, CELL);
