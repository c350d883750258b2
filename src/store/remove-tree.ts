// Removing a directory tree that other instances may be writing into. `rm -r` walks the tree and
// removes each directory once it looks empty, so a chunk renamed into it meanwhile makes the removal
// fail (ENOTEMPTY) and a writer's `mkdir -p` lose the directory it just saw. Renaming the tree away
// first is one atomic step: a writer afterwards finds the path gone and recreates it (atomic-file.ts),
// and nobody writes into the renamed tree, so removing it cannot race.

import { mkdir, rename, rm } from 'node:fs/promises';
import type { Volume } from './volume.js';

/**
 * Removes the file or directory tree at `path`. `gone` runs as soon as nothing is left at `path` (before
 * the moved tree is deleted), told when the removal began: the removal is journaled with that time, so
 * that a chunk written into a new directory at `path` right after is not taken for one the removal took
 * (accounting.ts). The time is taken before the rename, not when `gone` runs: a busy event loop may run
 * it long after, and a chunk renamed in meanwhile, journaled earlier than that, would be dropped from
 * the accounting while its file stays on the volume. A chunk journaled between the two and moved away
 * with the tree stays counted instead, until the next scan: too much, never too little.
 */
export async function removeTree(
  volume: Volume,
  path: string,
  gone: (at: number) => void = () => {},
): Promise<void> {
  const away = `${volume.tmpFile()}.removed`;
  const at = Date.now();
  try {
    await rename(path, away);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      // Another file system, or a name that cannot move: remove it in place (rare; may race).
      await rm(path, { recursive: true, force: true, maxRetries: 3 });
      gone(at);
      return;
    }
    // Either `path` is gone or this instance's temp directory is (a sweep took it): recreate, retry once.
    await mkdir(volume.tmpDir, { recursive: true, mode: 0o700 });
    try {
      await rename(path, away);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'ENOENT') throw again;
      gone(at);
      return;
    }
  }
  gone(at);
  await rm(away, { recursive: true, force: true, maxRetries: 3 });
}
