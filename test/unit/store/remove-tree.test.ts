import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeTree } from '../../../src/store/remove-tree.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';

let root: string;
let volume: Volume;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-remove-tree-'));
  volume = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'remover' });
});
after(() => rm(root, { recursive: true, force: true }));

test('a tree is removed, its temp copy too, and `gone` runs once the path is free', async () => {
  const dir = join(root, 'data', 'b', 'aa', 'bb', 'h');
  await mkdir(join(dir, 'v1'), { recursive: true });
  await writeFile(join(dir, 'v1', '0'), 'x');
  let gone = 0;
  await removeTree(volume, dir, () => {
    gone += 1;
  });
  assert.equal(gone, 1);
  assert.deepEqual(await readdir(join(root, 'data', 'b', 'aa', 'bb')), []);
  assert.deepEqual(await readdir(volume.tmpDir), [], 'nothing left in the temp area');
  await removeTree(volume, dir, () => {
    gone += 1;
  });
  assert.equal(gone, 2, 'a path already gone is gone all the same');
});

test('writers renaming into the tree while it is removed never make the removal fail', async () => {
  const dir = join(root, 'data', 'b', 'cc', 'dd', 'h');
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      await mkdir(join(dir, 'v'), { recursive: true }).catch(() => {});
      await writeFile(join(dir, 'v', `${w}-${i % 8}`), 'chunk').catch(() => {});
    }
  };
  const writers = [writer(1), writer(2)];
  try {
    for (let i = 0; i < 200; i++) await removeTree(volume, dir);
  } finally {
    stop = true;
    await Promise.all(writers);
  }
});
