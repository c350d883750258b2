import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChunkStore } from '../../../src/store/chunks.js';
import { heldCells } from '../../../src/store/held-cells.js';
import type { ObjectVersion } from '../../../src/store/types.js';
import { openVolume } from '../../../src/store/volume.js';

const CELL = 64 * 1024;

let root: string;
let serial = 0;

function version(): ObjectVersion {
  serial++;
  return { namespace: 'aws', bucket: 'held-tests', key: `object-${serial}`, etag: `"etag-${serial}"` };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-held-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

// As the chunk store's own tests: a local volume (synchronous calls) and one whose calls use the pool.
for (const local of [true, false]) {
  describe(local ? 'on a local volume' : 'on a volume not known to be local', () => {
    test('full chunks by name, partial ones by their header, absent cells hold nothing', async () => {
      const volume = await openVolume({
        dir: join(root, `vol-${local}`),
        chunkSize: CELL,
        instanceId: 't',
        local,
      });
      const store = new ChunkStore(volume);
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
      const volume = await openVolume({
        dir: join(root, `vol2-${local}`),
        chunkSize: CELL,
        instanceId: 't',
        local,
      });
      const store = new ChunkStore(volume);
      const none = await heldCells(volume, store, version(), [{ index: 0, length: CELL }]);
      assert.deepEqual([...none.entries()], [[0, []]]);
      const v = version();
      await mkdir(volume.versionDir(v), { recursive: true });
      await writeFile(join(volume.versionDir(v), '5.p'), 'not a chunk file');
      const held = await heldCells(volume, store, v, [{ index: 5, length: CELL }]);
      assert.deepEqual([...held.entries()], [[5, []]]);
    });
  });
}
