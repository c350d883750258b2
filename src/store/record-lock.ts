// A record's lock file (proper-lockfile): held while a record is read, changed and written, so that no
// update of one key is lost to another made at the same time by any process on the volume.

import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { lock } from 'proper-lockfile';

/** A lock whose holder has not refreshed it for this long is taken over (a crashed instance's). */
const LOCK_STALE_MS = 10_000;
const LOCK_REFRESH_MS = 2_500;
/** About 1.5 s of waiting in all: a record update is a read and a rename, so a longer wait means trouble. */
const LOCK_RETRIES = { retries: 12, factor: 1.5, minTimeout: 5, maxTimeout: 200, randomize: true };

/**
 * The calls proper-lockfile makes, with a lock's directory made only when the lock finds it missing: a
 * `mkdir -p` before every lock cost two more round trips through the thread pool on each record update.
 */
const LOCK_CALLS = {
  mkdir(path: string, done: (err: NodeJS.ErrnoException | null) => void): void {
    fs.mkdir(path, (err) => {
      if (err?.code !== 'ENOENT') return done(err);
      fs.mkdir(dirname(path), { recursive: true, mode: 0o700 }, (parentErr) => {
        if (parentErr) done(parentErr);
        else fs.mkdir(path, done);
      });
    });
  },
  stat: fs.stat,
  rmdir: fs.rmdir,
  utimes: fs.utimes,
  realpath: fs.realpath,
};

/** The record's lock could not be taken, or was lost before the update landed. */
export class RecordLockError extends Error {
  override name = 'RecordLockError';
}

/**
 * Takes the lock for `lockPath` (the lock is the directory `lockPath + '.lock'`). The locked path doubles
 * as proper-lockfile's key for the locks a process holds, so it must be unique per record: one shared
 * path would let one record's release drop another's lock.
 */
export async function acquire(
  lockPath: string,
  onCompromised: (err: Error) => void,
): Promise<() => Promise<void>> {
  const options = {
    lockfilePath: `${lockPath}.lock`,
    realpath: false,
    stale: LOCK_STALE_MS,
    update: LOCK_REFRESH_MS,
    retries: LOCK_RETRIES,
    onCompromised,
    fs: LOCK_CALLS,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      return await lock(lockPath, options);
    } catch (err) {
      // ENOENT: maintenance removed the empty lock directory between its mkdir and the lock's.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue;
      const why =
        (err as NodeJS.ErrnoException).code === 'ELOCKED' ? 'timed out waiting for' : 'could not take';
      throw new RecordLockError(`${why} the lock ${lockPath}.lock`, { cause: err });
    }
  }
}
