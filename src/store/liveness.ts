// Whether another instance sharing the volume is still alive, from the heartbeat it refreshes at every
// journal flush (journal.ts). Used where waiting on a dead instance costs time: readers waiting on its
// fetch leases, and the leader cleaning up after it (temp files, leases, accounting). Being wrong the
// other way costs little: a live instance taken for dead loses a lease (one extra S3 fetch) or a temp
// file (one failed cache write, a miss), never bytes.

import { hostname } from 'node:os';
import { type Heartbeat, readHeartbeats } from './journal.js';

/** Heartbeats are re-read at most this often by one instance. */
const HEARTBEATS_TTL_MS = 500;

export interface LivenessOptions {
  /** How often a live instance refreshes its heartbeat (`cache.journal_flush`). */
  flushMs: number;
  /** An instance whose heartbeat is older than this is dead, wherever it runs. */
  silentAfterMs: number;
}

/**
 * Dead when it stopped, when its heartbeat is older than `silentAfterMs`, or, on this host, when its
 * process is gone and it missed two refreshes (the process check alone could mistake an instance in
 * another PID namespace with the same host name; a live one keeps its heartbeat fresh).
 */
export function heartbeatDead(beat: Heartbeat, opts: LivenessOptions, now: number): boolean {
  if (beat.stopped) return true;
  const silent = now - beat.lastSeen;
  if (silent > opts.silentAfterMs) return true;
  return silent > 2 * opts.flushMs + 500 && beat.host === hostname() && !processRuns(beat.pid);
}

function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs under another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The heartbeats of the fleet as one instance sees them, re-read at most every half second. */
export class InstanceLiveness {
  readonly #volumeDir: string;
  readonly #opts: LivenessOptions;
  #beats: Map<string, Heartbeat> | null = null;
  #readAt = 0;
  #reading: Promise<Map<string, Heartbeat>> | null = null;

  constructor(volumeDir: string, opts: LivenessOptions) {
    this.#volumeDir = volumeDir;
    this.#opts = opts;
  }

  /** True only when `instance` has a heartbeat that says it is dead (no heartbeat: not known, not dead). */
  async isDead(instance: string): Promise<boolean> {
    const beat = (await this.#heartbeats()).get(instance);
    return beat !== undefined && heartbeatDead(beat, this.#opts, Date.now());
  }

  async #heartbeats(): Promise<Map<string, Heartbeat>> {
    if (this.#beats !== null && Date.now() - this.#readAt < HEARTBEATS_TTL_MS) return this.#beats;
    this.#reading ??= readHeartbeats(this.#volumeDir)
      .then((beats) => new Map(beats.map((b) => [b.instance, b])))
      .finally(() => {
        this.#reading = null;
      });
    const beats = await this.#reading;
    this.#beats = beats;
    this.#readAt = Date.now();
    return beats;
  }
}
