// The volume's record change mark, `state/record-changes`: every process that writes or removes a record
// file (any instance, worker or `kura cache` command) appends a byte to it afterwards, before the change is
// reported done. A remembered record (record-memo.ts) whose mark is unchanged since its file was last
// looked at needs no look at its file, and one look at the mark serves every read that arrived before it:
// the reads of one event-loop turn (src/cache/read/read-path.ts) share one `stat` instead of one each.
//
// Why it holds: a change is done only once its byte is appended, after the record file changed. A read
// that arrived after that sees a mark taken later, so either the record was looked at after the change
// or the mark has moved since the record was looked at. An append always grows the file; a restart is a
// new file (another inode). On NFS the mark is as fresh as the attribute cache lets it be, like a record's
// own `stat`; appends from two clients at once may land on one offset and count once, which is why a mark
// vouches for a record looked at within MARK_TRUST_MS only.

import type { Stats } from 'node:fs';
import { appendFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { CHANGE_MARK_FILE, type Volume } from './volume.js';

/** An unchanged mark vouches for a record whose file was looked at within this time; then it is again. */
export const MARK_TRUST_MS = 10_000;

/** Past this size the mark starts again as a new file: a new inode, so a change to every reader too. */
const RESTART_BYTES = 2 ** 20;
/** How often an append checks the size (a `stat`): the file may outgrow RESTART_BYTES by this much. */
const SIZE_CHECK_EVERY = 4096;

/** The mark as read: inode and size. */
export type Mark = string;

const markOf = (st: Stats): Mark => `${st.ino}:${st.size}`;

export class ChangeMark {
  readonly #volume: Volume;
  readonly #path: string;
  #appends = 0;
  /**
   * The last look at the mark, and when it began (performance.now()): the mark itself once known (a
   * local volume's `stat` is synchronous), else the promise of it.
   */
  #last: { at: number; mark: Mark | null | Promise<Mark | null> } | null = null;

  constructor(volume: Volume) {
    this.#volume = volume;
    this.#path = join(volume.dir, CHANGE_MARK_FILE);
  }

  /**
   * The mark as it stood after `arrived` (performance.now() of a request's arrival): one look serves every
   * caller that arrived before it began. Null when there is no mark (nothing trusted by it).
   */
  read(arrived: number): Mark | null | Promise<Mark | null> {
    const last = this.#last;
    if (last !== null && last.at > arrived) return last.mark;
    const at = performance.now();
    const look = { at, mark: this.#look() };
    this.#last = look;
    const mark = look.mark;
    if (mark instanceof Promise) void mark.then((known) => (look.mark = known));
    return mark;
  }

  #look(): Mark | null | Promise<Mark | null> {
    try {
      const st = this.#volume.calls.stat(this.#path);
      return st instanceof Promise ? st.then(markOf, () => null) : markOf(st);
    } catch {
      return null;
    }
  }

  /** Marks a record file written or removed. Resolves once readers that arrive from now on see it. */
  async changed(): Promise<void> {
    // The last look needs no dropping: a read that arrives after this append arrived after that look
    // began, so `read` looks again.
    try {
      await appendFile(this.#path, '.', { mode: 0o600 });
      this.#appends += 1;
      if (this.#appends % SIZE_CHECK_EVERY === 0) {
        const st = await this.#volume.calls.stat(this.#path);
        if (st.size > RESTART_BYTES) await writeFileAtomic(this.#volume, this.#path, '');
      }
    } catch {
      // A mark that cannot show this change must not vouch for anything: without it, every record is
      // looked at again. If even the removal fails, marks are vouched for MARK_TRUST_MS at most.
      await unlink(this.#path).catch(() => {});
    }
  }
}
