// heldCells (src/store/held-cells.ts): one listing of a version's directory tells which bytes of each
// cell the volume holds, as a probe of each would.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { heldCells } from '../../../src/store/held-cells.js';
import { CELL, onEachVolume, version } from '../../support/chunk-store.js';

onEachVolume((ctx) => {
  test('full chunks by name, partial ones by their header, absent cells hold nothing', async () => {
    const { volume, store } = ctx;
    const v = version();
    await store.write(v, 0, CELL, [{ start: 0, bytes: Buffer.alloc(CELL, 1) }], 'raw');
    await store.write(v, 2, CELL, [{ start: 100, bytes: Buffer.alloc(900, 2) }], 'raw');
    await store.write(v, 3, 1000, [{ start: 0, bytes: Buffer.alloc(1000, 3) }], 'raw');
    // Names that are no chunk file's: never taken for cell 1 or 4.
    await writeFile(join(volume.versionDir(v), '01'), 'x');
    await writeFile(join(volume.versionDir(v), '4.tmp'), 'x');
    const asked = [0, 1, 2, 3, 4].map((index) => ({ index, length: index === 3 ? 1000 : CELL }));
    const held = await heldCells(volume, store, v, asked);
    assert.deepEqual(
      [...held.entries()].sort(([a], [b]) => a - b),
      [
        [0, [{ start: 0, end: CELL }]],
        [1, []],
        [2, [{ start: 100, end: 1000 }]],
        [3, [{ start: 0, end: 1000 }]],
        [4, []],
      ],
    );
    // The same answers as a probe of each cell.
    for (const { index, length } of asked)
      assert.deepEqual(held.get(index), await store.probe(v, index, length));
  });

  test('a version without a directory holds nothing; a damaged partial chunk is a miss', async () => {
    const { volume, store } = ctx;
    const none = await heldCells(volume, store, version(), [{ index: 0, length: CELL }]);
    assert.deepEqual([...none.entries()], [[0, []]]);
    const v = version();
    await mkdir(volume.versionDir(v), { recursive: true });
    await writeFile(join(volume.versionDir(v), '5.p'), 'not a chunk file');
    const held = await heldCells(volume, store, v, [{ index: 5, length: CELL }]);
    assert.deepEqual([...held.entries()], [[5, []]]);
  });
});
