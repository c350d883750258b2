// A chunk store on a fresh volume for each case of the chunk store's tests, run twice: on a local volume,
// whose metadata calls are synchronous (src/store/local-fs.ts), and on one not known to be local, whose
// calls all go through the thread pool.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import { ChunkStore } from '../../src/store/chunks.js';
import type { ChunkContent, ObjectVersion } from '../../src/store/types.js';
import { openVolume, type Volume } from '../../src/store/volume.js';

/** The volumes' chunk size unless a test asks for another: one cell of the grid. */
export const CELL = 64 * 1024;

/** What a case works with, set before it runs: the volume, a store of its own, and the damage reported. */
export interface ChunkStoreCase {
  volume: Volume;
  store: ChunkStore;
  /** The damaged files the store reported, path and reason, in this case. */
  corrupt: [string, string][];
}

/**
 * Runs `cases` (describe and test calls) on each kind of volume, of chunks of `chunkSize`; `ctx` holds the
 * current case's store.
 */
export function onEachVolume(cases: (ctx: ChunkStoreCase) => void, chunkSize = CELL): void {
  let root = '';
  const s = { corrupt: [] } as unknown as ChunkStoreCase;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kura-chunks-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  for (const local of [true, false]) {
    describe(local ? 'on a local volume' : 'on a volume not known to be local', () => {
      before(async () => {
        s.volume = await openVolume({
          dir: join(root, `vol-${local}`),
          chunkSize,
          instanceId: 'test',
          local,
        });
        assert.equal(s.volume.local, local);
      });
      beforeEach(() => {
        s.corrupt = [];
        s.store = new ChunkStore(s.volume, (path, reason) => s.corrupt.push([path, reason]));
      });
      cases(s);
    });
  }
}

let serial = 0;

/** A fresh object version per call, so cases never see each other's files. */
export function version(): ObjectVersion {
  serial++;
  return { namespace: 'aws', bucket: 'chunk-tests', key: `dir/object-${serial}`, etag: `"etag-${serial}"` };
}

/** The cell bytes in `content` at [start, end), or null when some are missing. */
export function bytesAt(content: ChunkContent | null, start: number, end: number): Buffer | null {
  for (const p of content?.pieces ?? []) {
    if (p.start <= start && end <= p.start + p.bytes.length)
      return p.bytes.subarray(start - p.start, end - p.start);
  }
  return null;
}
