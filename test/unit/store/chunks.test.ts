// The chunk store (src/store/chunks.ts): full chunks written and read back, partial chunks merged into
// full ones, removal, and what its files hold on disk. Damaged files: chunk-damage.test.ts.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, stat } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { mergePieces } from '../../../src/store/cell-pieces.js';
import { readChunkHeader } from '../../../src/store/chunk-file.js';
import { bytesAt, CELL, onEachVolume, version } from '../../support/chunk-store.js';
import { present } from '../../support/volume-files.js';

onEachVolume((ctx) => {
  describe('ChunkStore full chunks', () => {
    test('write then read, raw and lz4, random and compressible', async () => {
      for (const codec of ['raw', 'lz4'] as const) {
        for (const bytes of [randomBytes(CELL), Buffer.alloc(CELL, 'abc')]) {
          const v = version();
          const written = await ctx.store.write(v, 0, CELL, [{ start: 0, bytes }], codec);
          assert.equal(written.rawBytes, CELL);
          assert.equal(written.storedBytes, (await stat(ctx.volume.chunkPath(v, 0, false))).size);
          const read = await ctx.store.read(v, 0, CELL);
          assert.equal(read?.full, true);
          assert.ok(bytesAt(read, 0, CELL)?.equals(bytes));
        }
      }
    });

    test('the last cell of an object may be shorter than the grid', async () => {
      const v = version();
      const bytes = randomBytes(1234);
      await ctx.store.write(v, 7, 1234, [{ start: 0, bytes }], 'lz4');
      assert.deepEqual(await ctx.store.probe(v, 7, 1234), [{ start: 0, end: 1234 }]);
      assert.ok(bytesAt(await ctx.store.read(v, 7, 1234), 0, 1234)?.equals(bytes));
    });

    test('nothing cached: read is null and probe is empty', async () => {
      const v = version();
      assert.equal(await ctx.store.read(v, 0, CELL), null);
      assert.deepEqual(await ctx.store.probe(v, 0, CELL), []);
      assert.deepEqual(ctx.corrupt, []);
    });

    test('pieces outside the cell are refused', async () => {
      const v = version();
      await assert.rejects(
        ctx.store.write(v, 0, 100, [{ start: 90, bytes: Buffer.alloc(11) }], 'raw'),
        RangeError,
      );
      await assert.rejects(
        ctx.store.write(v, 0, CELL + 1, [{ start: 0, bytes: Buffer.alloc(1) }], 'raw'),
        RangeError,
      );
    });
  });

  describe('ChunkStore partial chunks', () => {
    test('two partial writes that together cover the cell become one full chunk', async () => {
      const v = version();
      const cell = randomBytes(CELL);
      const first = await ctx.store.write(v, 1, CELL, [{ start: 0, bytes: cell.subarray(0, 40_000) }], 'lz4');
      assert.equal(first.rawBytes, 40_000);
      assert.ok(await present(ctx.volume.chunkPath(v, 1, true)));
      assert.ok(!(await present(ctx.volume.chunkPath(v, 1, false))));
      assert.deepEqual(await ctx.store.probe(v, 1, CELL), [{ start: 0, end: 40_000 }]);

      const partial = await ctx.store.read(v, 1, CELL);
      assert.equal(partial?.full, false);
      assert.ok(bytesAt(partial, 0, 40_000)?.equals(cell.subarray(0, 40_000)));
      assert.equal(bytesAt(partial, 39_000, 40_001), null);

      const second = await ctx.store.write(
        v,
        1,
        CELL,
        [{ start: 30_000, bytes: cell.subarray(30_000) }],
        'lz4',
      );
      assert.equal(second.rawBytes, CELL);
      assert.ok(await present(ctx.volume.chunkPath(v, 1, false)));
      assert.ok(!(await present(ctx.volume.chunkPath(v, 1, true))));
      const full = await ctx.store.read(v, 1, CELL);
      assert.equal(full?.full, true);
      assert.ok(bytesAt(full, 0, CELL)?.equals(cell));
      assert.deepEqual(await ctx.store.probe(v, 1, CELL), [{ start: 0, end: CELL }]);
    });

    test('disjoint partial writes accumulate extents, each served with its own bytes', async () => {
      const v = version();
      const cell = randomBytes(CELL);
      const ranges: [number, number][] = [
        [50_000, 50_100],
        [0, 16],
        [60_000, CELL - 1],
        [50_100, 50_200],
      ];
      for (const [s, e] of ranges)
        await ctx.store.write(v, 2, CELL, [{ start: s, bytes: cell.subarray(s, e) }], 'raw');
      assert.deepEqual(await ctx.store.probe(v, 2, CELL), [
        { start: 0, end: 16 },
        { start: 50_000, end: 50_200 },
        { start: 60_000, end: CELL - 1 },
      ]);
      const read = await ctx.store.read(v, 2, CELL);
      for (const [s, e] of ranges)
        assert.ok(bytesAt(read, s, e)?.equals(cell.subarray(s, e)), `[${s}, ${e})`);
      assert.equal(bytesAt(read, 16, 17), null);
    });

    test('8 concurrent partial writes of one cell all keep their extents', async () => {
      const v = version();
      const cell = randomBytes(CELL);
      const ranges = Array.from({ length: 8 }, (_, i): [number, number] => [i * 8000, i * 8000 + 1000]);
      await Promise.all(
        ranges.map(([s, e]) =>
          ctx.store.write(v, 3, CELL, [{ start: s, bytes: cell.subarray(s, e) }], 'lz4'),
        ),
      );
      assert.deepEqual(
        await ctx.store.probe(v, 3, CELL),
        ranges.map(([start, end]) => ({ start, end })),
      );
      const read = await ctx.store.read(v, 3, CELL);
      for (const [s, e] of ranges)
        assert.ok(bytesAt(read, s, e)?.equals(cell.subarray(s, e)), `[${s}, ${e})`);
    });

    test('one write of unsorted, overlapping pieces: later pieces win, and covering the cell makes it full', async () => {
      const v = version();
      const pieces = [
        { start: 100, bytes: Buffer.alloc(CELL - 100, 1) },
        { start: 0, bytes: Buffer.alloc(200, 2) },
      ];
      await ctx.store.write(v, 0, CELL, pieces, 'raw');
      const read = await ctx.store.read(v, 0, CELL);
      assert.equal(read?.full, true);
      assert.ok(bytesAt(read, 0, 200)?.equals(Buffer.alloc(200, 2)));
      assert.ok(bytesAt(read, 200, CELL)?.equals(Buffer.alloc(CELL - 200, 1)));
    });

    test('a partial write where the full chunk exists changes nothing', async () => {
      const v = version();
      const bytes = randomBytes(CELL);
      await ctx.store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
      const again = await ctx.store.write(v, 0, CELL, [{ start: 5, bytes: Buffer.alloc(5) }], 'raw');
      assert.deepEqual(again, { rawBytes: 0, storedBytes: 0 });
      assert.ok(!(await present(ctx.volume.chunkPath(v, 0, true))));
      assert.ok(bytesAt(await ctx.store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
    });

    test('probe reads a header longer than its first read', async () => {
      const v = version();
      // 600 extents of 1 byte: the header is 4828 bytes, past the probe's first 4096.
      const pieces = Array.from({ length: 600 }, (_, i) => ({
        start: i * 2,
        bytes: Buffer.from([i & 0xff]),
      }));
      await ctx.store.write(v, 0, CELL, pieces, 'raw');
      const extents = await ctx.store.probe(v, 0, CELL);
      assert.equal(extents.length, 600);
      assert.deepEqual(extents[599], { start: 1198, end: 1199 });
    });
  });

  describe('mergePieces', () => {
    test('joins touching and overlapping pieces, later ones winning', () => {
      const merged = mergePieces([
        { start: 10, bytes: Buffer.from('aaaa') },
        { start: 0, bytes: Buffer.from('bb') },
        { start: 12, bytes: Buffer.from('cccc') },
        { start: 2, bytes: Buffer.from('dd') },
      ]);
      assert.deepEqual(
        merged.map((p) => [p.start, p.bytes.toString()]),
        [
          [0, 'bbdd'],
          [10, 'aacccc'],
        ],
      );
    });
  });

  describe('ChunkStore removal', () => {
    test('removeVersion removes one version; removeObject removes them all', async () => {
      const v1 = version();
      const v2 = { ...v1, etag: '"another"' };
      for (const v of [v1, v2])
        await ctx.store.write(v, 0, 10, [{ start: 0, bytes: Buffer.alloc(10) }], 'raw');
      await ctx.store.removeVersion(v1);
      assert.equal(await ctx.store.read(v1, 0, 10), null);
      assert.notEqual(await ctx.store.read(v2, 0, 10), null);
      await ctx.store.removeObject(v1);
      assert.equal(await ctx.store.read(v2, 0, 10), null);
      assert.ok(!(await present(ctx.volume.objectDataDir(v1))));
      await ctx.store.removeObject(v1); // nothing left: still fine
    });

    test('a write after its version directory was removed recreates it', async () => {
      const v = version();
      await ctx.store.write(v, 0, 10, [{ start: 0, bytes: Buffer.alloc(10) }], 'raw');
      await ctx.store.removeVersion(v);
      await ctx.store.write(v, 1, 10, [{ start: 0, bytes: Buffer.alloc(10, 1) }], 'raw');
      assert.ok(bytesAt(await ctx.store.read(v, 1, 10), 0, 10)?.equals(Buffer.alloc(10, 1)));
    });

    test('writes leave no temp files', async () => {
      assert.deepEqual(await readdir(ctx.volume.tmpDir), []);
    });
  });

  describe('chunk files on disk', () => {
    test('a partial chunk’s header lists its extents', async () => {
      const v = version();
      await ctx.store.write(v, 3, CELL, [{ start: 7, bytes: Buffer.alloc(9) }], 'raw');
      const header = readChunkHeader(await readFile(ctx.volume.chunkPath(v, 3, true)), {
        index: 3,
        tag: ctx.volume.versionTag(v),
      });
      assert.deepEqual(header.extents, [{ start: 7, end: 16 }]);
      assert.equal(header.index, 3);
    });

    test('a sound chunk of another object, or of another version, put in place of one is a miss', async () => {
      const v = version();
      const otherObject = version();
      const otherVersion = { ...v, etag: '"another"' };
      await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
      for (const other of [otherObject, otherVersion]) {
        const bytes = randomBytes(CELL);
        await ctx.store.write(other, 0, CELL, [{ start: 0, bytes }], 'raw');
        assert.ok(bytesAt(await ctx.store.read(other, 0, CELL), 0, CELL)?.equals(bytes));
        const before = ctx.corrupt.length;
        await copyFile(ctx.volume.chunkPath(other, 0, false), ctx.volume.chunkPath(v, 0, false));
        assert.equal(await ctx.store.read(v, 0, CELL), null);
        assert.equal(ctx.corrupt.length, before + 1);
        assert.match(ctx.corrupt[before]?.[1] ?? '', /another object or version/);
      }
    });

    test('a cell that arrives in pieces is written as one full chunk', async () => {
      const v = version();
      const parts = [randomBytes(100), randomBytes(CELL - 300), randomBytes(200)];
      let at = 0;
      const pieces = parts.map((bytes) => {
        const piece = { start: at, bytes };
        at += bytes.length;
        return piece;
      });
      const written = await ctx.store.write(v, 2, CELL, pieces, 'raw');
      assert.equal(written.rawBytes, CELL);
      const read = await ctx.store.read(v, 2, CELL);
      assert.equal(read?.full, true);
      assert.ok(bytesAt(read, 0, CELL)?.equals(Buffer.concat(parts)));
    });
  });
});
