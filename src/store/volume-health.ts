// Is the volume usable right now, and how much does it hold: the questions readiness and the cache size
// gauge ask of the store.

import { readdirSync, rmSync } from 'node:fs';
import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_NAME, readManifest, type Volume } from './volume.js';

/**
 * Why the volume cannot be used, or null when it can: its manifest must still be the one this instance
 * opened (same format and grid), and this instance must be able to create and remove a file in its
 * temp directory, which is what every cache write does first.
 */
export async function volumeProblem(volume: Volume): Promise<string | null> {
  try {
    const manifest = await readManifest(join(volume.dir, MANIFEST_NAME));
    if (manifest.chunkSize !== volume.chunkSize) {
      return `${volume.dir}: the volume manifest now says chunk size ${manifest.chunkSize}, not ${volume.chunkSize}`;
    }
  } catch (err) {
    return (err as Error).message;
  }
  const probe = `${volume.tmpFile()}.ready`;
  try {
    await writeFile(probe, 'ready\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    return `${volume.tmpDir}: the volume is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  // Best effort: a probe left in tmp/{instance}/ is removed at stop or by the temp-file sweep.
  await unlink(probe).catch(() => {});
  return null;
}

/**
 * Bytes of chunk files under `data/`, by walking the tree: the size an instance without the leader's
 * accounting reports. Bounded by `maxFiles` so that one scan of a huge volume cannot run for long; the
 * result is then marked partial.
 */
export async function scanDataBytes(
  volume: Volume,
  maxFiles = 2_000_000,
): Promise<{ bytes: number; partial: boolean }> {
  let bytes = 0;
  let files = 0;
  const walk = async (dir: string): Promise<boolean> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return true;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!(await walk(path))) return false;
      } else if (e.isFile()) {
        if (++files > maxFiles) return false;
        bytes += await stat(path).then(
          (s) => s.size,
          () => 0,
        );
      }
    }
    return true;
  };
  const complete = await walk(join(volume.dir, 'data'));
  return { bytes, partial: !complete };
}

/**
 * Removes what is left in this instance's temp directory: files of writes that will never be renamed
 * into place because the process is stopping. Synchronous, so that it can run right before an exit.
 * Only this instance's directory: other instances' temp files belong to them (or to the leader's sweep).
 */
export function removeOwnTempFiles(volume: Volume): number {
  let removed = 0;
  for (const name of (() => {
    try {
      return readdirSync(volume.tmpDir);
    } catch {
      return [];
    }
  })()) {
    try {
      rmSync(join(volume.tmpDir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // Gone already, or the volume failed: the leader's sweep removes it by age.
    }
  }
  return removed;
}
