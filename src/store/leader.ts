// The maintenance leader: one instance at a time holds `locks/leader.lock` (proper-lockfile, refreshed
// while held, taken over once stale). Each new leader writes a larger fencing token to
// `state/leader.json`; before every batch of deletes it checks that the token there is still its own and
// that its lock was not compromised, so a leader that stalled past the stale time (a long GC pause, a
// frozen VM, an NFS hiccup) and was replaced deletes nothing.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import type { Volume } from './volume.js';

export interface LeaderRecord {
  instance: string;
  token: number;
  since: number;
}

export class LeaderLock {
  readonly #volume: Volume;
  readonly #staleMs: number;
  #release: (() => Promise<void>) | null = null;
  #token = 0;
  #compromised = false;
  /** Called when the lock is lost while held (the holder steps down). */
  onLost: (err: Error) => void = () => {};

  constructor(volume: Volume, staleMs: number) {
    this.#volume = volume;
    this.#staleMs = staleMs;
  }

  get held(): boolean {
    return this.#release !== null && !this.#compromised;
  }

  get token(): number {
    return this.#token;
  }

  /** Tries once to become leader; true when this instance now holds the lock. */
  async tryAcquire(): Promise<boolean> {
    if (this.held) return true;
    const path = leaderLockTarget(this.#volume.dir);
    await mkdir(join(this.#volume.dir, 'locks'), { recursive: true, mode: 0o700 });
    let release: () => Promise<void>;
    try {
      release = await lock(path, {
        lockfilePath: `${path}.lock`,
        realpath: false,
        stale: this.#staleMs,
        update: Math.max(250, Math.floor(this.#staleMs / 4)),
        retries: 0,
        onCompromised: (err) => {
          // proper-lockfile's default throws from a timer; a leader that lost its lock steps down instead.
          this.#compromised = true;
          this.#release = null;
          this.onLost(err);
        },
      });
    } catch {
      return false;
    }
    this.#compromised = false;
    this.#release = release;
    const previous = await readLeaderRecord(this.#volume.dir);
    this.#token = (previous?.token ?? 0) + 1;
    const mine: LeaderRecord = { instance: this.#volume.instanceId, token: this.#token, since: Date.now() };
    const file = join(this.#volume.dir, 'state', 'leader.json');
    await mkdir(join(this.#volume.dir, 'state'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${this.#volume.instanceId}.tmp`;
    await writeFile(tmp, JSON.stringify(mine), { mode: 0o600 });
    await rename(tmp, file);
    return true;
  }

  /** True when this instance may still delete: lock held and the fencing token on the volume is its own. */
  async stillLeader(): Promise<boolean> {
    if (!this.held) return false;
    const record = await readLeaderRecord(this.#volume.dir);
    return record !== null && record.token === this.#token && record.instance === this.#volume.instanceId;
  }

  async release(): Promise<void> {
    const release = this.#release;
    this.#release = null;
    // A lock that could not be released goes stale: another instance takes over after cache.leader_stale.
    if (release) await release().catch(() => {});
  }
}

export function leaderLockTarget(volumeDir: string): string {
  return join(volumeDir, 'locks', 'leader');
}

export async function readLeaderRecord(volumeDir: string): Promise<LeaderRecord | null> {
  try {
    const r = JSON.parse(await readFile(join(volumeDir, 'state', 'leader.json'), 'utf8')) as LeaderRecord;
    return typeof r.token === 'number' && typeof r.instance === 'string' ? r : null;
  } catch {
    return null;
  }
}
