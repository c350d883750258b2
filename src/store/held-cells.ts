// Which cells of one version the volume holds, for many cells at once: one listing of the version's
// directory rather than a stat per cell. A whole read of a large object plans every cell before its head
// is sent (src/cache/read/cached-body.ts): at a stat each, a 1 GiB object of 1 MiB chunks waited for 1,024
// of them before its first byte, and on a network file system each is a round trip to the server.

import type { ChunkStore } from './chunks.js';
import type { Extent, ObjectVersion } from './types.js';
import type { Volume } from './volume.js';

/** A cell asked about: its index, and its length in the version. */
export interface CellAsked {
  index: number;
  length: number;
}

/** Which chunk files a cell has, as flags: `{index}` (a full chunk) and `{index}.p` (a partial one). */
const FULL = 1;
const PARTIAL = 2;

/**
 * What the volume holds of each cell asked, by index, as ChunkStore.probe answers for one: the extents
 * held, none when there is no chunk. A full chunk is taken from its name (its read checks it, as a stat
 * would not have either); a partial one's extents are read from its header.
 */
export async function heldCells(
  volume: Volume,
  chunks: ChunkStore,
  v: ObjectVersion,
  cells: readonly CellAsked[],
): Promise<Map<number, Extent[]>> {
  let names: string[];
  try {
    names = await volume.calls.readNames(volume.versionDir(v));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      // Not a plain absence: each cell's own probe reports and repairs what it finds.
      return new Map(
        await Promise.all(
          cells.map(async (c) => [c.index, await chunks.probe(v, c.index, c.length)] as const),
        ),
      );
    }
    names = [];
  }
  const end = cells.reduce((n, c) => Math.max(n, c.index + 1), 0);
  const kinds = new Uint8Array(end);
  for (const name of names) {
    const partial = name.endsWith('.p');
    const digits = partial ? name.slice(0, -2) : name;
    const index = Number(digits);
    // Only chunk files' names count: digits without a leading zero, `.p` after them for a partial one.
    if (index < end && Number.isInteger(index) && String(index) === digits) {
      kinds[index] = (kinds[index] ?? 0) | (partial ? PARTIAL : FULL);
    }
  }
  const held = new Map<number, Extent[]>();
  await Promise.all(
    cells.map(async ({ index, length }) => {
      const kind = kinds[index] ?? 0;
      if (kind & FULL) held.set(index, [{ start: 0, end: length }]);
      else if (kind & PARTIAL) held.set(index, await chunks.probe(v, index, length));
      else held.set(index, []);
    }),
  );
  return held;
}
