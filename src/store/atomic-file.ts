// Writing a file so that readers see either the old file or the whole new one: write it under this
// instance's temp directory, then rename it onto its name (atomic on local file systems and NFSv4).

import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rename, writeNewFile } from './fs-calls.js';
import type { Volume } from './volume.js';

/**
 * Writes `data` (or its parts, in order, with one vectored write) to `dest` through a temp file. Creates `dest`'s directory when the rename finds it
 * missing (new versions, or a directory maintenance removed meanwhile), then retries once. The temp file
 * never outlives a failure. `beforeRename` may throw to abandon the write (a lock that was lost).
 *
 * No fsync: a file that a crash leaves short or zeroed fails its checksum and is a miss (DESIGN.md §1.2),
 * and the cache must not pay a disk flush per chunk for what a refill repairs.
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
    try {
      await rename(tmp, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
      await rename(tmp, dest);
    }
  } catch (err) {
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
