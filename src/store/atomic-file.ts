// Writing a file so that readers see either the old file or the whole new one: write it under this
// instance's temp directory, then rename it onto its name (atomic on local file systems and NFSv4).

import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rename, writeNewFile } from './fs-calls.js';
import type { Volume } from './volume.js';

/**
 * Writes `data` (or its parts, in order, with one vectored write) to `dest` through a temp file. Creates
 * `dest`'s directory when the rename finds it missing (new versions, or a directory maintenance removed
 * meanwhile). The temp file never outlives a failure. `beforeRename` may throw to abandon the write (a lock that was lost).
 *
 * No fsync: a file that a crash leaves short or zeroed fails its checksum and is a miss
 * (docs/architecture.md, rule 2), and the cache must not pay a disk flush per chunk for what a refill
 * repairs.
 */
export async function writeFileAtomic(
  volume: Volume,
  dest: string,
  data: Buffer | string | readonly Buffer[],
  beforeRename?: () => void,
): Promise<void> {
  const tmp = volume.tmpFile();
  try {
    await writeNew(volume, tmp, data);
    beforeRename?.();
    await renameInto(tmp, dest);
  } catch (err) {
    // The write's own error is the one reported; a temp file left behind is removed at stop or by the
    // temp-file sweep.
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

async function writeNew(
  volume: Volume,
  tmp: string,
  data: Buffer | string | readonly Buffer[],
): Promise<void> {
  const parts = typeof data === 'string' ? [Buffer.from(data)] : Buffer.isBuffer(data) ? [data] : data;
  try {
    await writeNewFile(tmp, parts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The temp directory went away (an operator or a sweep); it is ours to recreate.
    await mkdir(volume.tmpDir, { recursive: true, mode: 0o700 });
    await writeNewFile(tmp, parts);
  }
}

/** Attempts at renaming into a directory that eviction may be removing at the same moment. */
const RENAME_ATTEMPTS = 3;

/**
 * Renames `tmp` onto `dest`, creating `dest`'s directory when it is missing. Eviction moves whole object
 * directories away (remove-tree.ts), which can happen between our `mkdir -p` and our rename (ENOENT), or
 * in the middle of the `mkdir -p` itself (Node reports a directory that vanished under it as ENOTDIR):
 * both are retried.
 */
async function renameInto(tmp: string, dest: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(tmp, dest);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === RENAME_ATTEMPTS) throw err;
    }
    try {
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTDIR' && code !== 'ENOENT') || attempt === RENAME_ATTEMPTS) throw err;
    }
  }
}
