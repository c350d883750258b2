// Chunks of a version whose ETag is not known yet: a write streaming to S3. They are cut and encoded like
// any chunk, but into a directory of this instance's temp area, and become the version's directory only
// when S3 has named the ETag and the byte count was exact (publish); otherwise they are dropped.

import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { encodeChunk } from './chunk-file.js';
import type { ChunkWriteResult } from './chunks.js';
import { mergePieces } from './chunks.js';
import type { ChunkPiece, Codec, ObjectVersion } from './types.js';
import type { Volume } from './volume.js';

let stagingCounter = 0;

export class VersionStaging {
  readonly #volume: Volume;
  readonly dir: string;
  /** File name → bytes of every chunk staged, journaled once they are the version's. */
  readonly #written = new Map<string, number>();
  /** Room reserved with the space gate for the staged chunks. */
  #reserved = 0;

  constructor(volume: Volume) {
    this.#volume = volume;
    stagingCounter = (stagingCounter + 1) % Number.MAX_SAFE_INTEGER;
    this.dir = join(volume.tmpDir, `version-${Date.now().toString(36)}-${stagingCounter.toString(36)}`);
  }

  /** The ChunkStore.write contract (the version is implied); a cell is written once, whole or not. */
  async write(
    _v: ObjectVersion,
    index: number,
    cellLength: number,
    pieces: readonly ChunkPiece[],
    codec: Codec,
  ): Promise<ChunkWriteResult> {
    const merged = mergePieces(pieces.filter((p) => p.bytes.length > 0));
    // A full volume keeps no more: the chunk is left out, as a fill would leave it (the gate of ChunkStore).
    if (merged.length === 0 || !this.#volume.space.mayWrite(cellLength))
      return { rawBytes: 0, storedBytes: 0 };
    // Held until publish or discard: publishing moves every staged byte into the cache at once.
    this.#reserved += cellLength;
    const full = merged.length === 1 && merged[0]?.start === 0 && merged[0].bytes.length === cellLength;
    const encoded = await encodeChunk({ index, full, pieces: merged }, codec);
    const name = full ? `${index}` : `${index}.p`;
    await writeFileAtomic(this.#volume, join(this.dir, name), encoded.file);
    this.#written.set(name, encoded.file.length);
    return { rawBytes: encoded.rawBytes, storedBytes: encoded.storedBytes };
  }

  /**
   * Makes the staged chunks the chunks of `v`: one rename of the directory, or, when a reader has started
   * caching the same version meanwhile, a rename per file it lacks (its files hold the same bytes).
   */
  async publish(v: ObjectVersion): Promise<void> {
    const target = this.#volume.versionDir(v);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    try {
      await rename(this.dir, target);
      this.#journal(v);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // nothing was staged (an empty object, or every chunk skipped)
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    for (const name of await readdir(this.dir)) {
      await rename(join(this.dir, name), join(target, name)).catch(() => {});
    }
    this.#journal(v);
    await this.discard();
  }

  /** The leader's accounting learns of the chunks as of the version's, like any chunk written. */
  #journal(v: ObjectVersion): void {
    for (const [name, bytes] of this.#written) this.#volume.events.chunkWritten(v, name, bytes);
    this.#settle();
  }

  async discard(): Promise<void> {
    this.#settle();
    await rm(this.dir, { recursive: true, force: true });
  }

  #settle(): void {
    this.#volume.space.settle(this.#reserved);
    this.#reserved = 0;
  }
}
