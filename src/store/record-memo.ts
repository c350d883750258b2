// Parsed object records remembered by path, so that a hit does not read and parse its record file again.
// A record file is never changed in place (updates rename a new file over it): an unchanged inode, size
// and mtime mean the record read before is still the one on the volume. Nor does a record need that look
// while the volume's change mark stands where it stood before the last one (change-mark.ts). With a
// recheck time, a record checked within it is trusted without either (cache.record_recheck,
// docs/caching.md).

import type { Stats } from 'node:fs';
import { MARK_TRUST_MS, type Mark } from './change-mark.js';
import type { ObjectRecord } from './types.js';

/** Records remembered at most: a few MB. */
const REMEMBERED = 10_000;

/** A parsed record file, the file's identity when it was read, and when that was last checked. */
interface Seen {
  ino: number;
  size: number;
  mtimeMs: number;
  record: ObjectRecord;
  /** performance.now() of the last read that found the file unchanged. */
  checkedAt: number;
  /** The volume's change mark as read before that look at the file (null: none to go by). */
  mark: Mark | null;
}

export class RecordMemo {
  readonly #seen = new Map<string, Seen>();
  readonly #recheckMs: number;
  #generation = 0;

  constructor(recheckMs: number) {
    this.#recheckMs = recheckMs;
  }

  /**
   * Counts changes. A read takes it before its stat and remembers what it found only if no change came
   * meanwhile, since the file it stat'ed may be one a change has replaced since.
   */
  get generation(): number {
    return this.#generation;
  }

  /** The record at `path` if it was checked within the recheck time: no look at the file needed. */
  trusted(path: string): ObjectRecord | undefined {
    if (this.#recheckMs <= 0) return undefined;
    const seen = this.#seen.get(path);
    return seen !== undefined && performance.now() - seen.checkedAt < this.#recheckMs
      ? seen.record
      : undefined;
  }

  /**
   * The record at `path` if the change mark, read after the caller arrived, is the one read before its
   * file was last looked at, within MARK_TRUST_MS: nothing has changed a record since.
   */
  unmarked(path: string, mark: Mark | null): ObjectRecord | undefined {
    if (mark === null) return undefined;
    const seen = this.#seen.get(path);
    return seen !== undefined && seen.mark === mark && performance.now() - seen.checkedAt < MARK_TRUST_MS
      ? seen.record
      : undefined;
  }

  /** Whether a record read from `path` is remembered. */
  has(path: string): boolean {
    return this.#seen.has(path);
  }

  /** The record remembered for the file `st` describes, if that is the file it was read from. */
  unchanged(path: string, st: Stats, generation: number, mark: Mark | null): ObjectRecord | undefined {
    const seen = this.#seen.get(path);
    if (!seen || seen.ino !== st.ino || seen.size !== st.size || seen.mtimeMs !== st.mtimeMs)
      return undefined;
    if (generation === this.#generation) {
      seen.checkedAt = performance.now();
      seen.mark = mark;
    }
    return seen.record;
  }

  /** Remembers `record` as read from the file `st` describes, unless a change came since `generation`. */
  remember(path: string, st: Stats, record: ObjectRecord, generation: number, mark: Mark | null): void {
    if (generation !== this.#generation) return;
    this.#seen.delete(path);
    this.#seen.set(path, {
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      record: deepFreeze(record),
      checkedAt: performance.now(),
      mark,
    });
    if (this.#seen.size > REMEMBERED) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  /** Drops what is remembered of `path`, whose file has changed or is about to. */
  forget(path: string): void {
    this.#generation += 1;
    this.#seen.delete(path);
  }

  /** Drops what is remembered of `path` because a read found another file there (no change to count). */
  drop(path: string): void {
    this.#seen.delete(path);
  }
}

/** Remembered records are shared by every reader: frozen, so that no caller can change another's copy. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
