import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { mergePieces } from '../../../src/store/cell-pieces.js';
import { chunkFileBytes, encodeChunk, readChunkHeader } from '../../../src/store/chunk-file.js';
import { ChunkStore } from '../../../src/store/chunks.js';
import type { ChunkContent, ObjectVersion } from '../../../src/store/types.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';
import { present } from '../../support/volume-files.js';

const CELL = 64 * 1024;

let root: string;
let volume: Volume;
let corrupt: [string, string][];
let store: ChunkStore;
let serial = 0;

/** A fresh object version per test, so tests never see each other's files. */
function version(): ObjectVersion {
  serial++;
  return { namespace: 'aws', bucket: 'chunk-tests', key: `dir/object-${serial}`, etag: `"etag-${serial}"` };
}

/** The cell bytes in `content` at [start, end), or null when some are missing. */
function bytesAt(content: ChunkContent | null, start: number, end: number): Buffer | null {
  for (const p of content?.pieces ?? []) {
    if (p.start <= start && end <= p.start + p.bytes.length)
      return p.bytes.subarray(start - p.start, end - p.start);
  }
  return null;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-chunks-'));
});

beforeEach(() => {
  corrupt = [];
  store = new ChunkStore(volume, (path, reason) => corrupt.push([path, reason]));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

// Every case runs on a local volume, whose metadata calls are synchronous (src/store/local-fs.ts), and on
// one not known to be local, whose calls all go through the thread pool.
for (const local of [true, false]) {
  describe(local ? 'on a local volume' : 'on a volume not known to be local', () => {
    before(async () => {
      volume = await openVolume({
        dir: join(root, `vol-${local}`),
        chunkSize: CELL,
        instanceId: 'test',
        local,
      });
      assert.equal(volume.local, local);
    });

    describe('ChunkStore full chunks', () => {
      test('write then read, raw and lz4, random and compressible', async () => {
        for (const codec of ['raw', 'lz4'] as const) {
          for (const bytes of [randomBytes(CELL), Buffer.alloc(CELL, 'abc')]) {
            const v = version();
            const written = await store.write(v, 0, CELL, [{ start: 0, bytes }], codec);
            assert.equal(written.rawBytes, CELL);
            assert.equal(written.storedBytes, (await stat(volume.chunkPath(v, 0, false))).size);
            const read = await store.read(v, 0, CELL);
            assert.equal(read?.full, true);
            assert.ok(bytesAt(read, 0, CELL)?.equals(bytes));
          }
        }
      });

      test('the last cell of an object may be shorter than the grid', async () => {
        const v = version();
        const bytes = randomBytes(1234);
        await store.write(v, 7, 1234, [{ start: 0, bytes }], 'lz4');
        assert.deepEqual(await store.probe(v, 7, 1234), [{ start: 0, end: 1234 }]);
        assert.ok(bytesAt(await store.read(v, 7, 1234), 0, 1234)?.equals(bytes));
      });

      test('nothing cached: read is null and probe is empty', async () => {
        const v = version();
        assert.equal(await store.read(v, 0, CELL), null);
        assert.deepEqual(await store.probe(v, 0, CELL), []);
        assert.deepEqual(corrupt, []);
      });

      test('pieces outside the cell are refused', async () => {
        const v = version();
        await assert.rejects(
          store.write(v, 0, 100, [{ start: 90, bytes: Buffer.alloc(11) }], 'raw'),
          RangeError,
        );
        await assert.rejects(
          store.write(v, 0, CELL + 1, [{ start: 0, bytes: Buffer.alloc(1) }], 'raw'),
          RangeError,
        );
      });
    });

    describe('ChunkStore partial chunks', () => {
      test('two partial writes that together cover the cell become one full chunk', async () => {
        const v = version();
        const cell = randomBytes(CELL);
        const first = await store.write(v, 1, CELL, [{ start: 0, bytes: cell.subarray(0, 40_000) }], 'lz4');
        assert.equal(first.rawBytes, 40_000);
        assert.ok(await present(volume.chunkPath(v, 1, true)));
        assert.ok(!(await present(volume.chunkPath(v, 1, false))));
        assert.deepEqual(await store.probe(v, 1, CELL), [{ start: 0, end: 40_000 }]);

        const partial = await store.read(v, 1, CELL);
        assert.equal(partial?.full, false);
        assert.ok(bytesAt(partial, 0, 40_000)?.equals(cell.subarray(0, 40_000)));
        assert.equal(bytesAt(partial, 39_000, 40_001), null);

        const second = await store.write(
          v,
          1,
          CELL,
          [{ start: 30_000, bytes: cell.subarray(30_000) }],
          'lz4',
        );
        assert.equal(second.rawBytes, CELL);
        assert.ok(await present(volume.chunkPath(v, 1, false)));
        assert.ok(!(await present(volume.chunkPath(v, 1, true))));
        const full = await store.read(v, 1, CELL);
        assert.equal(full?.full, true);
        assert.ok(bytesAt(full, 0, CELL)?.equals(cell));
        assert.deepEqual(await store.probe(v, 1, CELL), [{ start: 0, end: CELL }]);
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
          await store.write(v, 2, CELL, [{ start: s, bytes: cell.subarray(s, e) }], 'raw');
        assert.deepEqual(await store.probe(v, 2, CELL), [
          { start: 0, end: 16 },
          { start: 50_000, end: 50_200 },
          { start: 60_000, end: CELL - 1 },
        ]);
        const read = await store.read(v, 2, CELL);
        for (const [s, e] of ranges)
          assert.ok(bytesAt(read, s, e)?.equals(cell.subarray(s, e)), `[${s}, ${e})`);
        assert.equal(bytesAt(read, 16, 17), null);
      });

      test('8 concurrent partial writes of one cell all keep their extents', async () => {
        const v = version();
        const cell = randomBytes(CELL);
        const ranges = Array.from({ length: 8 }, (_, i): [number, number] => [i * 8000, i * 8000 + 1000]);
        await Promise.all(
          ranges.map(([s, e]) => store.write(v, 3, CELL, [{ start: s, bytes: cell.subarray(s, e) }], 'lz4')),
        );
        assert.deepEqual(
          await store.probe(v, 3, CELL),
          ranges.map(([start, end]) => ({ start, end })),
        );
        const read = await store.read(v, 3, CELL);
        for (const [s, e] of ranges)
          assert.ok(bytesAt(read, s, e)?.equals(cell.subarray(s, e)), `[${s}, ${e})`);
      });

      test('one write of unsorted, overlapping pieces: later pieces win, and covering the cell makes it full', async () => {
        const v = version();
        const pieces = [
          { start: 100, bytes: Buffer.alloc(CELL - 100, 1) },
          { start: 0, bytes: Buffer.alloc(200, 2) },
        ];
        await store.write(v, 0, CELL, pieces, 'raw');
        const read = await store.read(v, 0, CELL);
        assert.equal(read?.full, true);
        assert.ok(bytesAt(read, 0, 200)?.equals(Buffer.alloc(200, 2)));
        assert.ok(bytesAt(read, 200, CELL)?.equals(Buffer.alloc(CELL - 200, 1)));
      });

      test('a partial write where the full chunk exists changes nothing', async () => {
        const v = version();
        const bytes = randomBytes(CELL);
        await store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
        const again = await store.write(v, 0, CELL, [{ start: 5, bytes: Buffer.alloc(5) }], 'raw');
        assert.deepEqual(again, { rawBytes: 0, storedBytes: 0 });
        assert.ok(!(await present(volume.chunkPath(v, 0, true))));
        assert.ok(bytesAt(await store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
      });

      test('probe reads a header longer than its first read', async () => {
        const v = version();
        // 600 extents of 1 byte: the header is 4828 bytes, past the probe's first 4096.
        const pieces = Array.from({ length: 600 }, (_, i) => ({
          start: i * 2,
          bytes: Buffer.from([i & 0xff]),
        }));
        await store.write(v, 0, CELL, pieces, 'raw');
        const extents = await store.probe(v, 0, CELL);
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

    describe('ChunkStore damaged files are misses', () => {
      test('a corrupt full chunk: read is null, the file is removed and reported', async () => {
        const v = version();
        await store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
        const path = volume.chunkPath(v, 0, false);
        const file = await readFile(path);
        file[file.length - 10] = (file[file.length - 10] as number) ^ 0x80;
        await writeFile(path, file);
        assert.equal(await store.read(v, 0, CELL), null);
        assert.ok(!(await present(path)));
        assert.equal(corrupt.length, 1);
        assert.equal(corrupt[0]?.[0], path);
        assert.match(corrupt[0]?.[1] ?? '', /CRC/);
        // A later fill repairs it.
        const bytes = randomBytes(CELL);
        await store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
        assert.ok(bytesAt(await store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
      });

      test('a full chunk with bytes past its end is a miss, removed', async () => {
        for (const extra of [1, 5000]) {
          const v = version();
          await store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
          const path = volume.chunkPath(v, 0, false);
          await writeFile(path, Buffer.concat([await readFile(path), randomBytes(extra)]));
          assert.equal(await store.read(v, 0, CELL), null);
          assert.ok(!(await present(path)));
        }
        assert.deepEqual(
          corrupt.map(([, reason]) => reason.replace(/\d+/g, 'N')),
          ['file is N bytes, header says N', 'file is N bytes, header says N'],
        );
      });

      test('a truncated full chunk falls back to the partial one', async () => {
        const v = version();
        const head = randomBytes(1000);
        await store.write(v, 0, CELL, [{ start: 0, bytes: head }], 'raw');
        // A full chunk beside it, cut short (a crash before its data reached the disk).
        const full = await encodeChunk(
          { index: 0, full: true, pieces: [{ start: 0, bytes: randomBytes(CELL) }] },
          'raw',
          volume.versionTag(v),
        );
        await writeFile(volume.chunkPath(v, 0, false), chunkFileBytes(full));
        await truncate(volume.chunkPath(v, 0, false), 5000);
        const read = await store.read(v, 0, CELL);
        assert.equal(read?.full, false);
        assert.ok(bytesAt(read, 0, 1000)?.equals(head));
        assert.equal(corrupt.length, 1);
        assert.match(corrupt[0]?.[1] ?? '', /file is 5000 bytes/);
      });

      test('a corrupt partial chunk: read is null, probe is empty, a write starts over', async () => {
        const v = version();
        await store.write(v, 0, CELL, [{ start: 10, bytes: randomBytes(100) }], 'raw');
        const path = volume.chunkPath(v, 0, true);
        const file = await readFile(path);
        file[8] = (file[8] as number) ^ 1; // the index, so the header CRC fails
        await writeFile(path, file);
        assert.deepEqual(await store.probe(v, 0, CELL), []);
        assert.ok(!(await present(path)));
        assert.equal(corrupt.length, 1);
        await writeFile(path, file);
        const fresh = randomBytes(50);
        await store.write(v, 0, CELL, [{ start: 500, bytes: fresh }], 'raw');
        assert.equal(corrupt.length, 2);
        assert.deepEqual(await store.probe(v, 0, CELL), [{ start: 500, end: 550 }]);
        assert.ok(bytesAt(await store.read(v, 0, CELL), 500, 550)?.equals(fresh));
      });

      test('another cell’s file under this cell’s name is a miss', async () => {
        const v = version();
        await store.write(v, 4, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
        await mkdir(volume.versionDir(v), { recursive: true });
        await writeFile(volume.chunkPath(v, 5, false), await readFile(volume.chunkPath(v, 4, false)));
        assert.equal(await store.read(v, 5, CELL), null);
        assert.match(corrupt[0]?.[1] ?? '', /index 4 where 5/);
      });

      test('a directory in a chunk’s place is a miss, never an error, and is removed', async () => {
        const v = version();
        await mkdir(join(volume.chunkPath(v, 0, false), 'x'), { recursive: true });
        assert.equal(await store.read(v, 0, CELL), null);
        assert.equal(corrupt.length, 1);
        assert.match(corrupt[0]?.[1] ?? '', /not a file/);
        assert.ok(!(await present(volume.chunkPath(v, 0, false))));
        // The same found by a probe, for the full and the partial name.
        await mkdir(join(volume.chunkPath(v, 0, false), 'x'), { recursive: true });
        await mkdir(join(volume.chunkPath(v, 0, true), 'x'), { recursive: true });
        assert.deepEqual(await store.probe(v, 0, CELL), []);
        assert.ok(!(await present(volume.chunkPath(v, 0, false))));
        assert.ok(!(await present(volume.chunkPath(v, 0, true))));
        const bytes = randomBytes(CELL);
        await store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
        assert.ok(bytesAt(await store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
      });

      test('a file where the version directory belongs is removed by a probe or a read; writes work again', async () => {
        for (const via of ['probe', 'read'] as const) {
          const v = version();
          await mkdir(volume.objectDataDir(v), { recursive: true });
          await writeFile(volume.versionDir(v), 'not a directory');
          corrupt = [];
          if (via === 'probe') assert.deepEqual(await store.probe(v, 0, CELL), []);
          else assert.equal(await store.read(v, 0, CELL), null);
          assert.equal(corrupt[0]?.[0], volume.versionDir(v), via);
          assert.ok(!(await present(volume.versionDir(v))), via);
          const bytes = randomBytes(CELL);
          await store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
          assert.ok(bytesAt(await store.read(v, 0, CELL), 0, CELL)?.equals(bytes), via);
        }
      });

      test('a chunk of another length than the record gives its cell is removed, never served', async () => {
        const v = version();
        await store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'lz4');
        // The record says the object ends 1000 bytes into this cell.
        assert.equal(await store.read(v, 0, 1000), null);
        assert.match(corrupt[0]?.[1] ?? '', /up to 65536 of a cell of 1000/);
        assert.ok(!(await present(volume.chunkPath(v, 0, false))));
        // Longer than the chunk: also a miss (it would otherwise be served short).
        await store.write(v, 1, 1000, [{ start: 0, bytes: randomBytes(1000) }], 'raw');
        assert.equal(await store.read(v, 1, CELL), null);
        // A partial chunk with bytes past the cell's end.
        await store.write(v, 2, CELL, [{ start: 5000, bytes: randomBytes(100) }], 'raw');
        assert.equal(await store.read(v, 2, 5050), null);
        assert.ok(!(await present(volume.chunkPath(v, 2, true))));
        assert.equal(corrupt.length, 3);
        // Within the cell: served.
        await store.write(v, 3, CELL, [{ start: 5000, bytes: randomBytes(100) }], 'raw');
        assert.notEqual(await store.read(v, 3, 5100), null);
      });

      test('a failed write rejects and leaves no temp file behind', async () => {
        const v = version();
        // A non-empty directory where the chunk goes: the rename fails.
        await mkdir(join(volume.chunkPath(v, 0, false), 'x'), { recursive: true });
        await assert.rejects(store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw'));
        assert.deepEqual(await readdir(volume.tmpDir), []);
      });
    });

    describe('ChunkStore removal', () => {
      test('removeVersion removes one version; removeObject removes them all', async () => {
        const v1 = version();
        const v2 = { ...v1, etag: '"another"' };
        for (const v of [v1, v2]) await store.write(v, 0, 10, [{ start: 0, bytes: Buffer.alloc(10) }], 'raw');
        await store.removeVersion(v1);
        assert.equal(await store.read(v1, 0, 10), null);
        assert.notEqual(await store.read(v2, 0, 10), null);
        await store.removeObject(v1);
        assert.equal(await store.read(v2, 0, 10), null);
        assert.ok(!(await present(volume.objectDataDir(v1))));
        await store.removeObject(v1); // nothing left: still fine
      });

      test('a write after its version directory was removed recreates it', async () => {
        const v = version();
        await store.write(v, 0, 10, [{ start: 0, bytes: Buffer.alloc(10) }], 'raw');
        await store.removeVersion(v);
        await store.write(v, 1, 10, [{ start: 0, bytes: Buffer.alloc(10, 1) }], 'raw');
        assert.ok(bytesAt(await store.read(v, 1, 10), 0, 10)?.equals(Buffer.alloc(10, 1)));
      });

      test('writes leave no temp files', async () => {
        assert.deepEqual(await readdir(volume.tmpDir), []);
      });
    });

    describe('chunk files on disk', () => {
      test('a partial chunk’s header lists its extents', async () => {
        const v = version();
        await store.write(v, 3, CELL, [{ start: 7, bytes: Buffer.alloc(9) }], 'raw');
        const header = readChunkHeader(await readFile(volume.chunkPath(v, 3, true)), {
          index: 3,
          tag: volume.versionTag(v),
        });
        assert.deepEqual(header.extents, [{ start: 7, end: 16 }]);
        assert.equal(header.index, 3);
      });

      test('a sound chunk of another object, or of another version, put in place of one is a miss', async () => {
        const v = version();
        const otherObject = version();
        const otherVersion = { ...v, etag: '"another"' };
        await store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
        for (const other of [otherObject, otherVersion]) {
          const bytes = randomBytes(CELL);
          await store.write(other, 0, CELL, [{ start: 0, bytes }], 'raw');
          assert.ok(bytesAt(await store.read(other, 0, CELL), 0, CELL)?.equals(bytes));
          const before = corrupt.length;
          await copyFile(volume.chunkPath(other, 0, false), volume.chunkPath(v, 0, false));
          assert.equal(await store.read(v, 0, CELL), null);
          assert.equal(corrupt.length, before + 1);
          assert.match(corrupt[before]?.[1] ?? '', /another object or version/);
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
        const written = await store.write(v, 2, CELL, pieces, 'raw');
        assert.equal(written.rawBytes, CELL);
        const read = await store.read(v, 2, CELL);
        assert.equal(read?.full, true);
        assert.ok(bytesAt(read, 0, CELL)?.equals(Buffer.concat(parts)));
      });
    });
  });
}
