// Removing what stands where the volume's layout wants a file or a directory (volume.ts names every
// path). A directory where a chunk or record file belongs, or a file where one of their directories
// belongs, would otherwise fail every read and every write of that object forever (EISDIR, ENOTDIR):
// nothing Kura writes makes such an entry, so it is damage, and removing it lets the next fill cache again.

import { rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { stat } from './fs-calls.js';

/**
 * Removes the entry at `path` (whatever its type), or, when one of the directories between `root` and
 * `path` is not a directory, that entry instead. Returns the path removed, or null when nothing was
 * there. `root` itself is never removed.
 */
export async function clearPath(root: string, path: string): Promise<string | null> {
  const inTheWay = await fileInTheWay(root, path);
  const target = inTheWay ?? path;
  const present = await stat(target).then(
    () => true,
    () => false,
  );
  if (!present) return null;
  await rm(target, { recursive: true, force: true });
  return target;
}

/** The first entry below `root` on the way to `path`'s directory that exists and is not a directory. */
export async function fileInTheWay(root: string, path: string): Promise<string | null> {
  const rel = relative(root, dirname(path));
  if (rel === '' || rel.startsWith('..')) return null;
  let at = root;
  for (const part of rel.split(sep)) {
    at = join(at, part);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(at)).isDirectory();
    } catch {
      return null;
    }
    if (!isDirectory) return at;
  }
  return null;
}
