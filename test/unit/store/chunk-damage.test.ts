// A damaged chunk file is a miss, removed and reported, never served and never an error
// (src/store/chunks.ts): a corrupt or truncated file, another cell's or another object's, a directory
// or a file where a chunk or a version directory belongs, a failed write.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { chunkFileBytes, encodeChunk } from '../../../src/store/chunk-file.js';
import { bytesAt, CELL, onEachVolume, version } from '../../support/chunk-store.js';
import { present } from '../../support/volume-files.js';

onEachVolume((ctx) => {
  test('a corrupt full chunk: read is null, the file is removed and reported', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
    const path = ctx.volume.chunkPath(v, 0, false);
    const file = await readFile(path);
    file[file.length - 10] = (file[file.length - 10] as number) ^ 0x80;
    await writeFile(path, file);
    assert.equal(await ctx.store.read(v, 0, CELL), null);
    assert.ok(!(await present(path)));
    assert.equal(ctx.corrupt.length, 1);
    assert.equal(ctx.corrupt[0]?.[0], path);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /CRC/);
    // A later fill repairs it.
    const bytes = randomBytes(CELL);
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
    assert.ok(bytesAt(await ctx.store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
  });

  test('a full chunk with bytes past its end is a miss, removed', async () => {
    for (const extra of [1, 5000]) {
      const v = version();
      await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
      const path = ctx.volume.chunkPath(v, 0, false);
      await writeFile(path, Buffer.concat([await readFile(path), randomBytes(extra)]));
      assert.equal(await ctx.store.read(v, 0, CELL), null);
      assert.ok(!(await present(path)));
    }
    assert.deepEqual(
      ctx.corrupt.map(([, reason]) => reason.replace(/\d+/g, 'N')),
      ['file is N bytes, header says N', 'file is N bytes, header says N'],
    );
  });

  test('a truncated full chunk falls back to the partial one', async () => {
    const v = version();
    const head = randomBytes(1000);
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: head }], 'raw');
    // A full chunk beside it, cut short (a crash before its data reached the disk).
    const full = await encodeChunk(
      { index: 0, full: true, pieces: [{ start: 0, bytes: randomBytes(CELL) }] },
      'raw',
      ctx.volume.versionTag(v),
    );
    await writeFile(ctx.volume.chunkPath(v, 0, false), chunkFileBytes(full));
    await truncate(ctx.volume.chunkPath(v, 0, false), 5000);
    const read = await ctx.store.read(v, 0, CELL);
    assert.equal(read?.full, false);
    assert.ok(bytesAt(read, 0, 1000)?.equals(head));
    assert.equal(ctx.corrupt.length, 1);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /file is 5000 bytes/);
  });

  test('a corrupt partial chunk: read is null, probe is empty, a write starts over', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL, [{ start: 10, bytes: randomBytes(100) }], 'raw');
    const path = ctx.volume.chunkPath(v, 0, true);
    const file = await readFile(path);
    file[8] = (file[8] as number) ^ 1; // the index, so the header CRC fails
    await writeFile(path, file);
    assert.deepEqual(await ctx.store.probe(v, 0, CELL), []);
    assert.ok(!(await present(path)));
    assert.equal(ctx.corrupt.length, 1);
    await writeFile(path, file);
    const fresh = randomBytes(50);
    await ctx.store.write(v, 0, CELL, [{ start: 500, bytes: fresh }], 'raw');
    assert.equal(ctx.corrupt.length, 2);
    assert.deepEqual(await ctx.store.probe(v, 0, CELL), [{ start: 500, end: 550 }]);
    assert.ok(bytesAt(await ctx.store.read(v, 0, CELL), 500, 550)?.equals(fresh));
  });

  test('another cell’s file under this cell’s name is a miss', async () => {
    const v = version();
    await ctx.store.write(v, 4, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw');
    await mkdir(ctx.volume.versionDir(v), { recursive: true });
    await writeFile(ctx.volume.chunkPath(v, 5, false), await readFile(ctx.volume.chunkPath(v, 4, false)));
    assert.equal(await ctx.store.read(v, 5, CELL), null);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /index 4 where 5/);
  });

  test('a directory in a chunk’s place is a miss, never an error, and is removed', async () => {
    const v = version();
    await mkdir(join(ctx.volume.chunkPath(v, 0, false), 'x'), { recursive: true });
    assert.equal(await ctx.store.read(v, 0, CELL), null);
    assert.equal(ctx.corrupt.length, 1);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /not a file/);
    assert.ok(!(await present(ctx.volume.chunkPath(v, 0, false))));
    // The same found by a probe, for the full and the partial name.
    await mkdir(join(ctx.volume.chunkPath(v, 0, false), 'x'), { recursive: true });
    await mkdir(join(ctx.volume.chunkPath(v, 0, true), 'x'), { recursive: true });
    assert.deepEqual(await ctx.store.probe(v, 0, CELL), []);
    assert.ok(!(await present(ctx.volume.chunkPath(v, 0, false))));
    assert.ok(!(await present(ctx.volume.chunkPath(v, 0, true))));
    const bytes = randomBytes(CELL);
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
    assert.ok(bytesAt(await ctx.store.read(v, 0, CELL), 0, CELL)?.equals(bytes));
  });

  test('a file where the version directory belongs is removed by a probe or a read; writes work again', async () => {
    for (const via of ['probe', 'read'] as const) {
      const v = version();
      await mkdir(ctx.volume.objectDataDir(v), { recursive: true });
      await writeFile(ctx.volume.versionDir(v), 'not a directory');
      ctx.corrupt = [];
      if (via === 'probe') assert.deepEqual(await ctx.store.probe(v, 0, CELL), []);
      else assert.equal(await ctx.store.read(v, 0, CELL), null);
      assert.equal(ctx.corrupt[0]?.[0], ctx.volume.versionDir(v), via);
      assert.ok(!(await present(ctx.volume.versionDir(v))), via);
      const bytes = randomBytes(CELL);
      await ctx.store.write(v, 0, CELL, [{ start: 0, bytes }], 'raw');
      assert.ok(bytesAt(await ctx.store.read(v, 0, CELL), 0, CELL)?.equals(bytes), via);
    }
  });

  test('a chunk of another length than the record gives its cell is removed, never served', async () => {
    const v = version();
    await ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'lz4');
    // The record says the object ends 1000 bytes into this cell.
    assert.equal(await ctx.store.read(v, 0, 1000), null);
    assert.match(ctx.corrupt[0]?.[1] ?? '', /up to 65536 of a cell of 1000/);
    assert.ok(!(await present(ctx.volume.chunkPath(v, 0, false))));
    // Longer than the chunk: also a miss (it would otherwise be served short).
    await ctx.store.write(v, 1, 1000, [{ start: 0, bytes: randomBytes(1000) }], 'raw');
    assert.equal(await ctx.store.read(v, 1, CELL), null);
    // A partial chunk with bytes past the cell's end.
    await ctx.store.write(v, 2, CELL, [{ start: 5000, bytes: randomBytes(100) }], 'raw');
    assert.equal(await ctx.store.read(v, 2, 5050), null);
    assert.ok(!(await present(ctx.volume.chunkPath(v, 2, true))));
    assert.equal(ctx.corrupt.length, 3);
    // Within the cell: served.
    await ctx.store.write(v, 3, CELL, [{ start: 5000, bytes: randomBytes(100) }], 'raw');
    assert.notEqual(await ctx.store.read(v, 3, 5100), null);
  });

  test('a failed write rejects and leaves no temp file behind', async () => {
    const v = version();
    // A non-empty directory where the chunk goes: the rename fails.
    await mkdir(join(ctx.volume.chunkPath(v, 0, false), 'x'), { recursive: true });
    await assert.rejects(ctx.store.write(v, 0, CELL, [{ start: 0, bytes: randomBytes(CELL) }], 'raw'));
    assert.deepEqual(await readdir(ctx.volume.tmpDir), []);
  });
});
