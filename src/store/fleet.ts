// One instance's part in the fleet that shares a volume: its journal, its space gate, its fetch leases,
// and its turn as maintenance leader. Started with the cache, closed with it (the journal flushed and the
// leader lock released, so another instance takes over at once rather than after the stale time).

import { setTimeout as sleep } from 'node:timers/promises';
import type { ChunkStore } from './chunks.js';
import { diskSpace } from './disk-space.js';
import type { VolumeEvents } from './events.js';
import type { CapacityLimits } from './eviction.js';
import { type Heartbeat, Journal, readHeartbeats } from './journal.js';
import { LeaderLock } from './leader.js';
import { FetchLeases } from './leases.js';
import { heartbeatDead, InstanceLiveness, type LivenessOptions } from './liveness.js';
import { Maintenance } from './maintenance.js';
import type { RecordStore } from './records.js';
import { type GateMember, VolumeSpaceGate } from './space-gate.js';
import { type EvictionReport, readSummary, type VolumeSummary } from './state-files.js';
import { isDead } from './sweeps.js';
import type { ObjectRecord } from './types.js';
import type { Volume } from './volume.js';

/** How often a starting instance looks whether every other instance counts it yet. */
const JOIN_POLL_MS = 50;
/** The least time a starting instance waits to be counted before it serves without caching. */
const JOIN_WAIT_MIN_MS = 2_000;

export interface FleetOptions {
  limits: CapacityLimits;
  /** Free space left on the volume's file system, in percent of its size (`cache.min_free`). */
  minFreePercent: number;
  journalFlushMs: number;
  journalSegmentBytes: number;
  journalSegmentAgeMs: number;
  leaderStaleMs: number;
  leaseMs: number;
  scanIntervalMs: number;
  uploadTtlMs: number;
  isExpired: ((record: ObjectRecord, now: number) => boolean) | null;
  onEvicted?: (report: EvictionReport) => void;
  log: {
    info(msg: string, f?: object): void;
    warn(msg: string, f?: object): void;
    debug(msg: string, f?: object): void;
  };
}

export class Fleet {
  readonly journal: Journal;
  readonly leases: FetchLeases;
  readonly space: VolumeSpaceGate;
  readonly #leader: LeaderLock;
  readonly #maintenance: Maintenance;
  readonly #opts: FleetOptions;
  readonly #volume: Volume;
  #timer: NodeJS.Timeout | null = null;
  #gateTimer: NodeJS.Timeout | null = null;
  #round: Promise<void> = Promise.resolve();
  #gateRefresh: Promise<void> = Promise.resolve();
  #gateRefreshing = false;
  #closed = false;
  #busy = false;

  constructor(volume: Volume, records: RecordStore, chunks: ChunkStore, opts: FleetOptions) {
    this.#volume = volume;
    this.#opts = opts;
    this.journal = new Journal(volume, {
      flushMs: opts.journalFlushMs,
      segmentBytes: opts.journalSegmentBytes,
      segmentAgeMs: opts.journalSegmentAgeMs,
    });
    this.journal.onError = (err) => opts.log.warn('journal not written', { error: err.message });
    this.space = new VolumeSpaceGate(volume.instanceId, opts.limits.maxBytes);
    const liveness = livenessOf(opts);
    const instances = new InstanceLiveness(volume.dir, liveness);
    this.leases = new FetchLeases(volume, opts.leaseMs, (instance) => instances.isDead(instance));
    this.#leader = new LeaderLock(volume, opts.leaderStaleMs);
    this.#maintenance = new Maintenance(volume, records, chunks, this.#leader, {
      limits: opts.limits,
      minFreePercent: opts.minFreePercent,
      deadAfterMs: deadAfter(opts),
      liveness,
      scanIntervalMs: opts.scanIntervalMs,
      roundMs: opts.journalFlushMs,
      uploadTtlMs: opts.uploadTtlMs,
      isExpired: opts.isExpired,
      ...(opts.onEvicted ? { onEvicted: opts.onEvicted } : {}),
      log: opts.log,
    });
    this.#leader.onLost = (err) => {
      opts.log.warn('lost the leader lock; stepping down', { error: err.message });
      this.#maintenance.stepDown();
    };
  }

  /** Whether this instance is the maintenance leader now. */
  get isLeader(): boolean {
    return this.#leader.held;
  }

  /** Objects this instance evicted while leader. */
  get evictions(): number {
    return this.#maintenance.evictions;
  }

  async start(): Promise<void> {
    const journal = this.journal;
    const space = this.space;
    const events: VolumeEvents = {
      chunkWritten: (v, name, bytes) => {
        journal.chunkWritten(v, name, bytes);
        space.wrote(bytes);
      },
      chunkRemoved: (v, name, at) => journal.chunkRemoved(v, name, at),
      versionRemoved: (v, at) => journal.versionRemoved(v, at),
      objectDataRemoved: (k, at) => journal.objectDataRemoved(k, at),
      recordWritten: (k, bytes, source) => {
        journal.recordWritten(k, bytes, source);
        space.wrote(bytes);
      },
      recordRemoved: (k) => journal.recordRemoved(k),
      objectRead: (k) => journal.objectRead(k),
    };
    this.#volume.events = events;
    this.#volume.space = space;
    await journal.start();
    await this.#refreshGate();
    await this.#join();
    void this.#welcome();
    this.#gateTimer = setInterval(() => void this.#refreshGateOnce(), this.#opts.journalFlushMs);
    this.#gateTimer.unref();
    this.#timer = setInterval(() => {
      // A round slower than the interval (a big scan) is not queued behind: the next tick is skipped.
      if (this.#busy) return;
      this.#busy = true;
      this.#round = this.#tick().finally(() => {
        this.#busy = false;
      });
    }, this.#opts.journalFlushMs);
    this.#timer.unref();
  }

  /** Stops the rounds, flushes the journal and releases the leader lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#gateTimer) clearInterval(this.#gateTimer);
    await this.#round;
    await this.#gateRefresh;
    await this.journal.close();
    // Best effort on the way out: the next leader rebuilds the accounting from the journals and a scan.
    await this.#maintenance.saveState().catch(() => {});
    await this.#leader.release();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#leader.held && (await this.#leader.tryAcquire())) {
        this.#opts.log.info('became the maintenance leader', { token: this.#leader.token });
      }
      if (this.#leader.held) {
        await this.#maintenance.round();
        // The leader's own gate learns its new summary at once.
        await this.#refreshGateOnce();
      }
    } catch (err) {
      this.#opts.log.warn('maintenance round failed', { error: (err as Error).message });
    }
  }

  /**
   * Waits, a bounded time, until every other live instance counts this one: until then its gate admits
   * no chunk, and the first reads would not be cached. Another instance counts a newcomer at its next
   * refresh (`journal_flush`), or later if its own pending bytes do not fit the smaller share yet.
   */
  async #join(): Promise<void> {
    const deadline = Date.now() + Math.max(3 * this.#opts.journalFlushMs, JOIN_WAIT_MIN_MS);
    const pollMs = Math.min(JOIN_POLL_MS, this.#opts.journalFlushMs);
    while (!this.space.counted && Date.now() < deadline) {
      await sleep(pollMs);
      await this.#refreshGateOnce();
    }
    if (!this.space.counted) {
      this.#opts.log.info('not counted by every instance on the volume yet: chunks are cached once it is');
    }
  }

  /**
   * For one `journal_flush` after it started, an instance refreshes its gate often: the instances that
   * started with it (the other workers of its group) are counted at once rather than at its next refresh.
   */
  async #welcome(): Promise<void> {
    const until = Date.now() + this.#opts.journalFlushMs;
    while (!this.#closed && Date.now() < until) {
      await sleep(JOIN_POLL_MS, undefined, { ref: false });
      await this.#refreshGateOnce();
    }
  }

  /** One gate refresh at a time: one already running (a slow volume) makes this one unnecessary. */
  #refreshGateOnce(): Promise<void> {
    if (this.#closed || this.#gateRefreshing) return this.#gateRefresh;
    this.#gateRefreshing = true;
    this.#gateRefresh = this.#refreshGate()
      .catch((err: Error) => this.#opts.log.warn('space gate refresh failed', { error: err.message }))
      .finally(() => {
        this.#gateRefreshing = false;
      });
    return this.#gateRefresh;
  }

  async #refreshGate(): Promise<void> {
    const now = Date.now();
    const summary = await readSummary(this.#volume.dir);
    const beats = await readHeartbeats(this.#volume.dir);
    const others = gateMembers(beats, this.#volume.instanceId, summary, this.#opts, now);
    this.space.update(summary, others, await diskSpace(this.#volume.dir, this.#opts.minFreePercent));
    const counting = this.space.counting;
    const told = this.journal.counting;
    this.journal.summarySeen = this.space.summarySeen;
    this.journal.counting = counting;
    // A newcomer waits for every other instance to count it: told at once rather than at the next flush.
    if (counting.length !== told.length || counting.some((id) => !told.includes(id))) {
      await this.journal.flush();
    }
  }
}

/** The other instances on the volume as the space gate needs them, from their heartbeats. */
export function gateMembers(
  beats: readonly Heartbeat[],
  self: string,
  summary: VolumeSummary | null,
  opts: Pick<FleetOptions, 'leaderStaleMs' | 'journalFlushMs'>,
  now: number,
): GateMember[] {
  const others: GateMember[] = [];
  for (const b of beats) {
    if (b.instance === self) continue;
    const basis = typeof b.summarySeen === 'number' ? b.summarySeen : undefined;
    if (isDead(b, deadAfter(opts), now)) {
      // Stopped, or silent too long: it writes no more, but until the leader's total includes its last
      // events, the others' shares still rest on its basis and its place in `n` (space-gate.ts).
      // Twice `deadAfter` at most: a journal the leader cannot read must not hold the fleet forever.
      const journaled = typeof b.journaled === 'number' ? b.journaled : 0;
      const included = (summary?.consolidated?.[b.instance] ?? 0) >= journaled;
      if (!included && now - b.lastSeen <= 2 * deadAfter(opts)) others.push({ instance: b.instance, basis });
      continue;
    }
    // Known dead on this host (its process is gone), it is not waited for; empty in a first heartbeat,
    // before its instance read the fleet's: it writes nothing until then.
    const counting =
      !heartbeatDead(b, livenessOf(opts), now) && Array.isArray(b.counting) && b.counting.length > 0
        ? b.counting
        : undefined;
    others.push({ instance: b.instance, basis, counting });
  }
  return others;
}

/**
 * When another instance is dead for the leases it holds and the files it leaves (liveness.ts): on this
 * host as soon as its process is gone, elsewhere once its heartbeat is 5 flushes (at least 5 s) old.
 */
function livenessOf(opts: Pick<FleetOptions, 'journalFlushMs'>): LivenessOptions {
  return { flushMs: opts.journalFlushMs, silentAfterMs: Math.max(5 * opts.journalFlushMs, 5_000) };
}

/**
 * An instance silent for this long is dead for consolidating its open segment, which must not grow
 * afterwards: twice the leader's stale time, and never under 4 flushes.
 */
function deadAfter(opts: Pick<FleetOptions, 'leaderStaleMs' | 'journalFlushMs'>): number {
  return Math.max(2 * opts.leaderStaleMs, 4 * opts.journalFlushMs);
}
