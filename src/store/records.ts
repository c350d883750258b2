// Object records: one JSON file per key, read without a lock, replaced whole under the record's lock file
// (docs/volume.md). Each file carries a CRC32 of the record's bytes (record-file.ts). A file that fails it,
// does not parse, names another key, or is no file at all is damage: the caller sees a miss, and the file
// is removed under the record's lock (and counted) so that the next fill writes a good one.

import type { Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { ChangeMark, type Mark } from './change-mark.js';
import { clearPath } from './clear-path.js';
import { readFile, stat, TRANSIENT_CODES } from './fs-calls.js';
import { decodeRecordFile, encodeRecordFile } from './record-file.js';
import { acquire, RecordLockError } from './record-lock.js';
import { RecordMemo } from './record-memo.js';
import type { ObjectKey, ObjectRecord } from './types.js';
import type { Volume } from './volume.js';

/** A record file was found damaged (or of the wrong type) and removed; `reason` says what was wrong. */
export type OnDamagedRecord = (path: string, reason: string) => void;

/** A record that is gone, or a file error that says nothing about it: the read is a miss, the file left alone. */
const MISS_CODES: ReadonlySet<string> = new Set(['ENOENT', ...TRANSIENT_CODES]);

/** What reading a record file found: a record, nothing usable, or damage to remove. */
interface Found {
  record: ObjectRecord | null;
  damage: string | null;
}

const NOTHING: Found = { record: null, damage: null };
const ignore = (): void => {};

/** What one update made: the record its change left, or the error it threw. */
type UpdateResult = { record: ObjectRecord | null } | Error;

/** What `update`'s function returns: a record to write, null to delete the record, undefined to leave it. */
export type RecordUpdate = (current: ObjectRecord | null) => ObjectRecord | null | undefined;

/**
 * A record removal stops answers S3 gave before it from making a new record. Instances compare their
 * clocks here; a margin would stop caching right after every write, so the fleet's clocks are assumed
 * synchronised (NTP) to well under the time between an answer and the write that outdates it.
 */
const TOMBSTONE_CLOCK_MARGIN_MS = 0;

export interface RecordStoreOptions {
  /** Told of every damaged record file removed. */
  onDamaged?: OnDamagedRecord;
  /**
   * How long a remembered record answers `read` without a look at its file (0: a `stat` on every read).
   * Changes made through this store are seen at once; those of other processes within this time.
   */
  recheckMs?: number;
}

interface QueuedUpdate {
  fn: RecordUpdate;
  /** `update`'s `ready`, made never to reject. */
  ready: Promise<void> | undefined;
  resolve: (record: ObjectRecord | null) => void;
  reject: (err: unknown) => void;
}

export class RecordStore {
  readonly #volume: Volume;
  /** Updates waiting for the lock of a record, by lock path; present while a batch is running. */
  readonly #queues = new Map<string, QueuedUpdate[]>();
  readonly #memo: RecordMemo;
  readonly #mark: ChangeMark;
  readonly #onDamaged: OnDamagedRecord;
  /**
   * Told the path of every record file this store wrote or removed, so that the other processes of an
   * instance (its workers) forget what they remember of it at once (`forget`).
   */
  onChange: (path: string) => void = () => {};

  constructor(volume: Volume, opts: RecordStoreOptions = {}) {
    this.#volume = volume;
    this.#onDamaged = opts.onDamaged ?? (() => {});
    this.#memo = new RecordMemo(opts.recheckMs ?? 0);
    this.#mark = new ChangeMark(volume);
  }

  /**
   * Moves the volume's change mark after record files were removed other than through this store (a
   * bucket's whole directory, or a record whose lock could not be had): readers look at their files again.
   */
  markChanged(): Promise<void> {
    return this.#mark.changed();
  }

  /** Drops what is remembered of the record file at `path`, which another process has changed. */
  forget(path: string): void {
    this.#memo.forget(path);
  }

  /**
   * The record of `k`, or null when there is none that can be trusted; a promise of it when it needs a
   * file call. Never fails for file problems: a damaged file is removed (under the record's lock) first.
   *
   * A hit costs a look at the volume's change mark, shared by every read that arrived before it (`arrived`,
   * performance.now()), and a stat of its record file only when the mark has moved (change-mark.ts); none
   * within `recheckMs`. Its own changes this store forgets at once, and tells its instance's other
   * processes of (`onChange`); another instance's are seen by the next read, or within `recheckMs`.
   */
  read(k: ObjectKey, arrived = performance.now()): ObjectRecord | null | Promise<ObjectRecord | null> {
    const path = this.#volume.recordPath(k);
    const trusted = this.#memo.trusted(path);
    if (trusted !== undefined) return this.#readMarked(k, path, null, trusted);
    // Read before the record's own stat, if that is needed: a change made after it moves the mark again.
    // A hit whose mark is known answers at once, without a promise (most hits on a local volume).
    const mark = this.#mark.read(arrived);
    if (mark instanceof Promise) return mark.then((known) => this.#readMarked(k, path, known));
    return this.#readMarked(k, path, mark);
  }

  /** `read` once the mark is known, or the record trusted without it. */
  #readMarked(k: ObjectKey, path: string, mark: Mark | null, trusted = this.#memo.unmarked(path, mark)) {
    if (trusted === undefined) return this.#readFile(k, path, mark);
    this.#volume.events.objectRead(k);
    return trusted;
  }

  async #readFile(k: ObjectKey, path: string, mark: Mark | null): Promise<ObjectRecord | null> {
    const found = await this.#read(k, path, mark);
    if (found.damage !== null) {
      // The update reads the file again under the lock and removes it if it is still damaged. If that
      // fails, this read is a miss all the same and the next read finds the damage and tries again.
      await this.update(k, () => undefined).catch(() => {});
      return null;
    }
    if (found.record !== null) this.#volume.events.objectRead(k);
    return found.record;
  }

  async #read(k: ObjectKey, path = this.#volume.recordPath(k), mark: Mark | null = null): Promise<Found> {
    const generation = this.#memo.generation;
    let st: Stats;
    try {
      // A record read before is checked with the volume's calls (synchronous on a local
      // volume: its inode is in the kernel's cache). One never read may need the disk: thread pool.
      st = this.#memo.has(path) ? await this.#volume.calls.stat(path) : await stat(path);
    } catch (err) {
      this.#memo.drop(path);
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOTDIR' ? { record: null, damage: 'a file where a directory should be' } : NOTHING;
    }
    if (!st.isFile()) return { record: null, damage: 'not a file' };
    const unchanged = this.#memo.unchanged(path, st, generation, mark);
    if (unchanged !== undefined) return { record: unchanged, damage: null };
    this.#memo.drop(path);
    let file: Buffer;
    try {
      file = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      return MISS_CODES.has(code) ? NOTHING : { record: null, damage: `unreadable: ${code}` };
    }
    const decoded = decodeRecordFile(file);
    // A record of the format before checksums: simply a miss, which the next fill replaces.
    if (decoded.kind === 'previous-format') return NOTHING;
    if (decoded.kind === 'damaged') return { record: null, damage: decoded.reason };
    const r = decoded.record;
    // A hash collision or a misplaced file: another key's bytes must never answer for this one.
    if (r.namespace !== k.namespace || r.bucket !== k.bucket || r.key !== k.key) {
      return { record: null, damage: 'the record of another key' };
    }
    // Only a read whose length matches the stat's size is known to be that file's content.
    if (file.length === st.size) this.#memo.remember(path, st, r, generation, mark);
    return { record: r, damage: null };
  }

  /** Keys with record updates under way in this process. */
  get updating(): number {
    return this.#queues.size;
  }

  /**
   * Reads, changes and writes `k`'s record under its lock, and returns the record now in place. Rejects
   * with RecordLockError when the lock cannot be had or is lost (then nothing is written), and with the
   * file system's error when the write fails.
   *
   * Updates of one key from this process are batched: those that arrive while one holds the lock run
   * together under the next lock, in arrival order, with one write. Concurrent fills of one object (an
   * engine reading many ranges of a cold file at once) would otherwise queue on the lock file one by one.
   *
   * `ready`, when given, settles before the record is written; the lock is taken and the record read
   * meanwhile. The returned promise settles once the change is in place and marked; the lock's release
   * follows without it.
   */
  update(k: ObjectKey, fn: RecordUpdate, ready?: Promise<unknown>): Promise<ObjectRecord | null> {
    const lockPath = this.#volume.recordLockPath(k);
    // Only its settling counts; a rejection is handled here, not left unhandled until the lock is had.
    const settled = ready?.then(ignore, ignore);
    return new Promise((resolve, reject) => {
      const entry: QueuedUpdate = { fn, ready: settled, resolve, reject };
      const queued = this.#queues.get(lockPath);
      if (queued) {
        queued.push(entry);
        return;
      }
      const queue = [entry];
      this.#queues.set(lockPath, queue);
      void this.#drain(k, lockPath, queue);
    });
  }

  async #drain(k: ObjectKey, lockPath: string, queue: QueuedUpdate[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        await this.#updateLocked(k, lockPath, batch);
      } catch (err) {
        // Thrown before the batch was settled: the release, which comes after, never throws.
        for (const u of batch) u.reject(err);
      }
    }
    this.#queues.delete(lockPath);
  }

  /**
   * Applies the batch's functions in order to the record under one lock, and settles each update before
   * the lock is released: with the record its change left, or the error it threw (which leaves the record
   * as it was for the next).
   */
  async #updateLocked(k: ObjectKey, lockPath: string, batch: QueuedUpdate[]): Promise<void> {
    let compromised: Error | null = null;
    const release = await acquire(lockPath, (err) => {
      // proper-lockfile's default throws from a timer, which would crash the process.
      compromised = err;
    });
    const checkStillHeld = () => {
      if (compromised) throw new RecordLockError(`lost the lock of ${lockPath}`, { cause: compromised });
    };
    try {
      const results = await this.#applyLocked(k, batch, checkStillHeld);
      for (const [i, u] of batch.entries()) {
        const result = results[i];
        if (result === undefined || result instanceof Error) u.reject(result);
        else u.resolve(result.record);
      }
    } finally {
      // A lock that could not be released goes stale and the next updater takes it over (acquire).
      await release().catch(() => {});
    }
  }

  /** The body of `#updateLocked`, the lock held: reads, changes, writes and marks the record. */
  async #applyLocked(
    k: ObjectKey,
    batch: QueuedUpdate[],
    checkStillHeld: () => void,
  ): Promise<UpdateResult[]> {
    const path = this.#volume.recordPath(k);
    // Not a read for eviction's sake: updates come from fills, revalidations and maintenance.
    const [found] = await Promise.all([this.#read(k), ...batch.map((u) => u.ready)]);
    if (found.damage !== null) {
      checkStillHeld();
      await this.#removeDamaged(k, path, found.damage);
    }
    const initial = found.record;
    let state = initial;
    let removedAt: number | null = null;
    const results: UpdateResult[] = [];
    for (const { fn } of batch) {
      let next: ObjectRecord | null | undefined;
      try {
        next = fn(state);
        if (next && (next.namespace !== k.namespace || next.bucket !== k.bucket || next.key !== k.key)) {
          throw new Error(`a record for ${next.bucket}/${next.key} cannot be stored as ${k.bucket}/${k.key}`);
        }
      } catch (err) {
        results.push(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (next === null) {
        removedAt = Date.now();
        state = null;
      } else if (next !== undefined) {
        // An answer S3 gave before this key was invalidated (a fill racing a write or a delete through
        // another request or instance): writing it would bring back what the write removed.
        const outdated =
          state === null &&
          (removedAt !== null
            ? removedAt + TOMBSTONE_CLOCK_MARGIN_MS > confirmedAt(next)
            : await this.#removedAfter(k, confirmedAt(next)));
        if (!outdated) state = next;
      }
      results.push({ record: state });
    }
    if (state === initial && removedAt === null) return results;
    checkStillHeld();
    if (removedAt !== null) {
      await this.#writeTombstone(k, removedAt);
    }
    this.#changed(path);
    if (state === null) {
      await rm(path, { force: true });
      await this.#mark.changed();
      if (initial !== null) this.#volume.events.recordRemoved(k);
      return results;
    }
    const file = encodeRecordFile(state);
    try {
      await writeFileAtomic(this.#volume, path, file, checkStillHeld);
    } finally {
      // Forgotten again once the file is in place: a read while it was written may have remembered the
      // file it replaced.
      this.#changed(path);
      await this.#mark.changed();
    }
    this.#volume.events.recordWritten(k, file.length, state.source);
    return results;
  }

  /** Records when `k` was removed; a directory standing in the tombstone's place is removed first. */
  async #writeTombstone(k: ObjectKey, removedAt: number): Promise<void> {
    const path = this.#volume.recordTombstonePath(k);
    try {
      await writeFileAtomic(this.#volume, path, String(removedAt));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'ENOTDIR' && code !== 'ENOTEMPTY') throw err;
      await clearPath(join(this.#volume.dir, 'objects'), path);
      await writeFileAtomic(this.#volume, path, String(removedAt));
    }
  }

  #changed(path: string): void {
    this.#memo.forget(path);
    this.onChange(path);
  }

  /** Removes a damaged record file, or the file standing where one of its directories belongs. */
  async #removeDamaged(k: ObjectKey, path: string, reason: string): Promise<void> {
    this.#changed(path);
    const removed = await clearPath(join(this.#volume.dir, 'objects'), path);
    await this.#mark.changed();
    if (removed === null) return;
    this.#volume.events.recordRemoved(k);
    this.#onDamaged(removed, reason);
  }

  /**
   * For `kura cache verify --repair`, which knows a record file only by its object id
   * (`{bucket}/{h0:2}/{h2:4}/{h}`): removes it under its lock unless it holds a sound record of a key
   * stored under that id, or one of the previous format (a miss the next fill replaces). Returns whether
   * something was removed.
   */
  async removeIfDamaged(objectId: string): Promise<boolean> {
    const path = join(this.#volume.dir, 'objects', `${objectId}.json`);
    const release = await acquire(this.#volume.recordLockPathOf(objectId), () => {});
    try {
      const st = await stat(path).catch(() => null);
      if (st?.isFile()) {
        const decoded = decodeRecordFile(await readFile(path));
        if (decoded.kind === 'previous-format') return false;
        if (decoded.kind === 'record' && this.#volume.objectId(decoded.record) === objectId) return false;
      }
      this.#changed(path);
      const removed = await clearPath(join(this.#volume.dir, 'objects'), path);
      await this.#mark.changed();
      return removed !== null;
    } finally {
      // A lock that could not be released goes stale and the next updater takes it over (acquire).
      await release().catch(() => {});
    }
  }

  /** Whether `k`'s record was removed later than `at` (less a margin for clocks of other instances). */
  async #removedAfter(k: ObjectKey, at: number): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.#volume.recordTombstonePath(k), 'utf8');
    } catch {
      return false;
    }
    const removedAt = Number(text);
    return Number.isFinite(removedAt) && removedAt + TOMBSTONE_CLOCK_MARGIN_MS > at;
  }

  /** Deletes `k`'s record. */
  async remove(k: ObjectKey): Promise<void> {
    await this.update(k, () => null);
  }
}

/** When S3 last vouched for the record's content. */
function confirmedAt(r: ObjectRecord): number {
  return Math.max(r.createdAt, r.validatedGet ?? 0, r.validatedHead ?? 0);
}

/** The record in `file` if it is a sound, checksummed record of exactly `k`, else null. */
export function parseObjectRecord(file: Buffer, k: ObjectKey): ObjectRecord | null {
  const decoded = decodeRecordFile(file);
  if (decoded.kind !== 'record') return null;
  const r = decoded.record;
  return r.namespace === k.namespace && r.bucket === k.bucket && r.key === k.key ? r : null;
}
