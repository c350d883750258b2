// Listings kept in memory (a rule's list_ttl), and the marks on the volume that tell every process of the
// fleet when a bucket's listings went out of date.
//
// A write through any Kura (any instance, worker or `kura cache` command) to a bucket that has a mark
// rewrites it, `state/listings/<hash>`, with a new random value, after S3 answered the write and before
// the client hears it (a bucket has a mark once a listing of it was to be kept: `markForFill`). A
// listing is kept with the mark as it was read before its LIST was sent, and answers only while the mark
// still says the same: so a listing S3 gave before a write through Kura applied is never served after
// that write was answered. Writes made to S3 by others are seen at `list_ttl` at most.
//
// Why a value, not a size or an inode like the record change mark (src/store/change-mark.ts): the file is
// replaced by a rename, atomic on local file systems and NFSv4, and each write brings a value nobody saw
// before, so two writes at once cannot leave a value a reader already holds, and a reused inode number
// means nothing. The file is read once per listing served from memory (an open, a read, a close), which a
// LIST that saves a round trip to S3 affords.

import { createHash, randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { readFile } from '../../store/fs-calls.js';
import type { Volume } from '../../store/volume.js';

/** One listing as S3 gave it, and what vouches for it. */
export interface Listing {
  /** S3's headers that describe the listing (per-response ones left out), as `[name, value, …]`. */
  headers: readonly string[];
  body: Buffer;
  /** The bucket's mark read before the LIST was sent. */
  mark: string;
  /** When the LIST was sent (epoch ms): its age counts from there. */
  at: number;
}

/** Bytes of listings kept per process at most; the least recently served go first. */
const LISTINGS_BYTES = 16 * 2 ** 20;
/** A longer answer (S3 pages hold 1,000 keys, well below this) is relayed and not kept. */
export const LISTING_MAX_BYTES = 2 * 2 ** 20;

export class Listings {
  readonly #volume: Volume;
  readonly #limit: number;
  /** Listing id → listing, least recently served first. */
  readonly #kept = new Map<string, Listing>();
  #bytes = 0;
  /** Per bucket mark file: the rewrite in progress, and the one queued behind it. */
  readonly #writing = new Map<string, Promise<void>>();
  readonly #queued = new Map<string, Promise<void>>();
  /** Told when a mark could be neither rewritten nor removed: listings may stay until their TTL. */
  onMarkFailed: (error: Error) => void = () => {};

  constructor(volume: Volume, limit = LISTINGS_BYTES) {
    this.#volume = volume;
    this.#limit = limit;
  }

  get(id: string): Listing | undefined {
    const listing = this.#kept.get(id);
    if (listing === undefined) return undefined;
    this.#kept.delete(id);
    this.#kept.set(id, listing);
    return listing;
  }

  set(id: string, listing: Listing): void {
    this.#remove(id);
    const size = sizeOf(listing);
    if (size > this.#limit) return;
    this.#kept.set(id, listing);
    this.#bytes += size;
    for (const oldest of this.#kept.keys()) {
      if (this.#bytes <= this.#limit) break;
      this.#remove(oldest);
    }
  }

  /** Drops the listings whose id starts with `prefix` (a credential's listings of a bucket: listingId). */
  dropPrefix(prefix: string): void {
    for (const id of this.#kept.keys()) if (id.startsWith(prefix)) this.#remove(id);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The bucket's mark now; null when there is none to go by (no listing is kept against null). */
  async mark(namespace: string, bucket: string): Promise<string | null> {
    try {
      return await readFile(this.#markPath(namespace, bucket), 'utf8');
    } catch {
      return null;
    }
  }

  /**
   * The bucket's mark as `read` (null: none yet), or made first: a LIST about to be sent is kept against
   * it.
   */
  async markForFill(namespace: string, bucket: string, read: string | null): Promise<string | null> {
    if (read !== null) return read;
    await this.changed(namespace, bucket);
    return this.mark(namespace, bucket);
  }

  /**
   * A write through Kura changed the bucket (S3 has answered it): its listings end. A bucket without a
   * mark has no listing anywhere, so the write costs one `stat`, not a rewrite (2–5 ms per PUT on one
   * machine, which every write paid while no listing was kept). Why that holds: a listing is kept only
   * against a mark made before its LIST was sent, and a mark made after this `stat` dates a LIST sent
   * after the write. On NFS the `stat` is as fresh as the attribute cache, like the record change mark's.
   */
  async written(namespace: string, bucket: string): Promise<void> {
    try {
      await this.#volume.calls.stat(this.#markPath(namespace, bucket));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    }
    await this.changed(namespace, bucket);
  }

  /**
   * Gives the bucket a new mark: resolves once every reader sees it. Writes that come while a rewrite is
   * on its way share the one queued behind it, which starts after they came: a DeleteObjects of 1,000
   * keys costs two rewrites, not 1,000.
   */
  changed(namespace: string, bucket: string): Promise<void> {
    const path = this.#markPath(namespace, bucket);
    const queued = this.#queued.get(path);
    if (queued !== undefined) return queued;
    const start = async (): Promise<void> => {
      this.#queued.delete(path);
      const write = this.#rewrite(path);
      this.#writing.set(path, write);
      try {
        await write;
      } finally {
        if (this.#writing.get(path) === write) this.#writing.delete(path);
      }
    };
    const writing = this.#writing.get(path);
    if (writing === undefined) return start();
    const next = writing.then(start, start);
    this.#queued.set(path, next);
    return next;
  }

  async #rewrite(path: string): Promise<void> {
    try {
      await writeFileAtomic(this.#volume, path, randomBytes(16).toString('hex'));
    } catch (err) {
      // No mark matches no listing: without the file, nothing is served from memory until one is made.
      await unlink(path).catch((unlinkErr: NodeJS.ErrnoException) => {
        if (unlinkErr.code !== 'ENOENT') this.onMarkFailed(err as Error);
      });
    }
  }

  #markPath(namespace: string, bucket: string): string {
    const name = createHash('sha256').update(`${namespace}\n${bucket}`).digest('hex').slice(0, 32);
    return join(this.#volume.dir, 'state', 'listings', name);
  }

  #remove(id: string): void {
    const listing = this.#kept.get(id);
    if (listing === undefined) return;
    this.#kept.delete(id);
    this.#bytes -= sizeOf(listing);
  }
}

function sizeOf(listing: Listing): number {
  let size = listing.body.length + listing.mark.length + 64;
  for (const text of listing.headers) size += text.length;
  return size;
}
