// Chunks of a version whose ETag is not known yet: a write streaming to S3. They are cut and encoded like
// any chunk, but into a directory of this instance's temp area, and become the version's directory only
// when S3 has named the ETag and the byte count was exact (publish); otherwise they are dropped.

import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { mergePieces } from './cell-pieces.js';
import { encodeChunk, sealChunkHeader, VERSION_TAG_BYTES } from './chunk-file.js';
import type { ChunkWriteResult } from './chunks.js';
import { close, open, writeAt } from './fs-calls.js';
import type { ChunkPiece, Codec, ObjectVersion } from './types.js';
import type { Volume } from './volume.js';

let stagingCounter = 0;
/** The tag of a staged chunk until its version is known: no version has it, so no read accepts it. */
const UNSEALED = Buffer.alloc(VERSION_TAG_BYTES);
/** Header rewrites in flight at once while publishing (the thread pool has four threads by default). */
const SEAL_PARALLEL = 8;

export class VersionStaging {
  readonly #volume: Volume;
  readonly dir: string;
  /** File name → size and header of every chunk staged: sealed and journaled once they are the version's. */
  readonly #written = new Map<string, { bytes: number; header: Buffer }>();
  /** Room reserved with the space gate for the staged chunks. */
  #reserved = 0;

  constructor(volume: Volume) {
    this.#volume = volume;
    stagingCounter = (stagingCounter + 1) % Number.MAX_SAFE_INTEGER;
    this.dir = join(volume.tmpDir, `version-${Date.now().toString(36)}-${stagingCounter.toString(36)}`);
  }

  /** The ChunkStore contract: the staging directory, made once before the first chunk. */
  async prepareVersion(_v: ObjectVersion): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
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
    // The version is not known yet: the tag is written when S3 names it (`publish`).
    const encoded = await encodeChunk({ index, full, pieces: merged }, codec, UNSEALED);
    const name = full ? `${index}` : `${index}.p`;
    await writeFileAtomic(this.#volume, join(this.dir, name), [encoded.header, ...encoded.payload]);
    this.#written.set(name, { bytes: encoded.storedBytes, header: encoded.header });
    return { rawBytes: encoded.rawBytes, storedBytes: encoded.storedBytes };
  }

  /**
   * Makes the staged chunks the chunks of `v`: one rename of the directory, or, when a reader has started
   * caching the same version meanwhile, a rename per file it lacks (its files hold the same bytes).
   */
  async publish(v: ObjectVersion): Promise<void> {
    await this.#seal(this.#volume.versionTag(v));
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
      // A chunk that cannot join the version is not cached (a later read fetches it); it stays in the
      // staging directory, which is discarded after this.
      await rename(join(this.dir, name), join(target, name)).catch(() => {});
    }
    this.#journal(v);
    await this.discard();
  }

  /** Writes the version's tag into every staged chunk's header, a few files at a time. */
  async #seal(tag: Buffer): Promise<void> {
    const staged = [...this.#written];
    const sealOne = async ([name, { header }]: (typeof staged)[number]) => {
      sealChunkHeader(header, tag);
      const fd = await open(join(this.dir, name), 'r+');
      try {
        await writeAt(fd, header, 0);
      } finally {
        await close(fd);
      }
    };
    for (let i = 0; i < staged.length; i += SEAL_PARALLEL) {
      await Promise.all(staged.slice(i, i + SEAL_PARALLEL).map(sealOne));
    }
  }

  /** The leader's accounting learns of the chunks as of the version's, like any chunk written. */
  #journal(v: ObjectVersion): void {
    for (const [name, { bytes }] of this.#written) this.#volume.events.chunkWritten(v, name, bytes);
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
