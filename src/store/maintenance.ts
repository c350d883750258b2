// What the leader does each round: consolidate closed journal segments into its accounting, evict when
// the volume passes its trigger, sweep now and then, and publish the state and summary files.

import { readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Accounting } from './accounting.js';
import type { ChunkStore } from './chunks.js';
import { diskSpace, effectiveCapacity } from './disk-space.js';
import { type CapacityLimits, chooseVictims, limitsFor, type Victim } from './eviction.js';
import { type Heartbeat, listSegments, parseSegment, readHeartbeats } from './journal.js';
import type { LeaderLock } from './leader.js';
import type { LivenessOptions } from './liveness.js';
import { reapDeadInstances } from './reaper.js';
import type { RecordStore } from './records.js';
import { removeTree } from './remove-tree.js';
import { listShards, scanVolume } from './scan.js';
import {
  type EvictionReport,
  loadAccounting,
  readSummary,
  saveAccounting,
  saveSummary,
  type VolumeSummary,
} from './state-files.js';
import {
  correctAccounting,
  emptySweepReport,
  isDead,
  readRecordLoosely,
  type SweepOptions,
  type SweepReport,
  sweepShard,
  sweepVolumeWide,
} from './sweeps.js';
import type { ObjectRecord } from './types.js';
import type { Volume } from './volume.js';

/** Objects removed between two fencing checks. */
export const EVICTION_BATCH = 32;
/**
 * The full accounting is written at most this often (it grows with the volume); consumed segments stay
 * on the volume until it is, so a leader that dies in between loses nothing: its successor re-reads them.
 */
const STATE_SAVE_MS = 30_000;
/** After a crash, a pass of the scan takes at most this long (not `cache.scan_interval`). */
export const RECOVERY_PASS_MS = 20_000;

export interface MaintenanceOptions {
  limits: CapacityLimits;
  /** Free space left on the volume's file system, in percent of its size (disk-space.ts). */
  minFreePercent: number;
  /** An instance silent this long is dead for consolidating its open segment (which must not grow). */
  deadAfterMs: number;
  /** When an instance is dead for cleaning up after it (reaper.ts). */
  liveness: LivenessOptions;
  /** A full pass of the rolling scan takes about this long. */
  scanIntervalMs: number;
  /** Time between two rounds: how the scan spreads its shards. */
  roundMs: number;
  uploadTtlMs: number;
  isExpired: ((record: ObjectRecord, now: number) => boolean) | null;
  /** Told after every eviction batch this leader ran (the instance's counters and metrics). */
  onEvicted?: (report: EvictionReport) => void;
  log: { info(msg: string, f?: object): void; warn(msg: string, f?: object): void };
}

export class Maintenance {
  readonly #volume: Volume;
  readonly #records: RecordStore;
  readonly #chunks: ChunkStore;
  readonly #leader: LeaderLock;
  readonly #opts: MaintenanceOptions;
  #acc: Accounting | null = null;
  #lastScan = 0;
  #lastEviction: EvictionReport | null = null;
  #evictedObjects = 0;
  #lagMs = 0;
  #lastSave = 0;
  #shards: string[] = [];
  #cursor = 0;
  #passStarted = 0;
  #pass: SweepReport = emptySweepReport();
  /** A pass started because an instance crashed: it runs at the recovery pace. */
  #recovering = false;
  /** Per instance, the time of the newest event consolidated (published for the space gates). */
  #consolidated = new Map<string, number>();
  /** Segments applied to the accounting in memory but not yet to the saved state. */
  #applied = new Set<string>();
  lastSweep: SweepReport | null = null;

  constructor(
    volume: Volume,
    records: RecordStore,
    chunks: ChunkStore,
    leader: LeaderLock,
    opts: MaintenanceOptions,
  ) {
    this.#volume = volume;
    this.#records = records;
    this.#chunks = chunks;
    this.#leader = leader;
    this.#opts = opts;
  }

  /** Objects this instance evicted while leader. */
  evictions = 0;

  /** One round as leader. */
  async round(): Promise<void> {
    const now = Date.now();
    if (this.#acc === null) await this.#bootstrap(now);
    const acc = this.#acc as Accounting;
    const beats = new Map((await readHeartbeats(this.#volume.dir)).map((b) => [b.instance, b]));
    await this.#consolidate(acc, beats);
    await this.#reap(beats);
    const disk = await diskSpace(this.#volume.dir, this.#opts.minFreePercent);
    const capacity = effectiveCapacity(this.#opts.limits.maxBytes, acc.totalBytes, disk);
    await this.#evict(acc, limitsFor(this.#opts.limits, capacity));
    const passDone = await this.#scanStep(acc);
    if (!(await this.#leader.stillLeader())) return;
    await saveSummary(
      this.#volume.dir,
      { ...this.#summary(acc), capacityBytes: capacity, disk },
      this.#volume.instanceId,
    );
    // After a full pass too: its corrections are what `kura cache verify` compares against.
    if (passDone || Date.now() - this.#lastSave >= STATE_SAVE_MS) await this.saveState();
  }

  /** Writes the accounting, then deletes the segments it includes. Also called when the leader stops. */
  async saveState(): Promise<void> {
    const acc = this.#acc;
    if (acc === null || !(await this.#leader.stillLeader())) return;
    const applied = [...this.#applied];
    await saveAccounting(this.#volume.dir, acc, this.#volume.instanceId);
    this.#lastSave = Date.now();
    // Only once the state that includes them is saved: a leader that dies before this re-reads them.
    for (const path of applied) {
      // Best effort: a segment that stays is consolidated again, which changes nothing (sizes are set,
      // not added), and deleted after the next save.
      await unlink(path).catch(() => {});
      this.#applied.delete(path);
    }
  }

  /**
   * The rolling scan: a few shards per round, so that a full pass takes about `scanIntervalMs`; the
   * volume-wide sweeps run once a pass is complete. Returns true when a pass completed in this round.
   */
  async #scanStep(acc: Accounting): Promise<boolean> {
    const now = Date.now();
    const interval = this.#recovering
      ? Math.min(RECOVERY_PASS_MS, this.#opts.scanIntervalMs)
      : this.#opts.scanIntervalMs;
    if (this.#cursor === 0) {
      // A pass starts every scan interval, and spreads its shards over that interval.
      if (now - this.#passStarted < interval && !this.#recovering) return false;
      this.#passStarted = now;
      this.#shards = await listShards(this.#volume.dir);
      this.#pass = emptySweepReport();
    }
    const opts = this.#sweepOptions();
    const perRound = Math.max(
      1,
      Math.ceil((this.#shards.length * this.#opts.roundMs) / Math.max(1, interval)),
    );
    for (let n = 0; n < perRound && this.#cursor < this.#shards.length; n++) {
      const shard = this.#shards[this.#cursor] as string;
      if (!(await sweepShard(acc, opts, shard, this.#pass, Date.now()))) return false;
      this.#cursor += 1;
    }
    if (this.#cursor < this.#shards.length) return false;
    await sweepVolumeWide(opts, this.#pass, Date.now());
    acc.pruneTombstones(Date.now());
    this.lastSweep = this.#pass;
    this.#cursor = 0;
    this.#recovering = false;
    this.#lastScan = Date.now();
    return true;
  }

  #sweepOptions(): SweepOptions {
    return {
      volumeDir: this.#volume.dir,
      self: this.#volume.instanceId,
      deadAfterMs: this.#opts.deadAfterMs,
      uploadTtlMs: this.#opts.uploadTtlMs,
      isExpired: this.#opts.isExpired,
      mayDelete: () => this.#leader.stillLeader(),
      removeTree: async (path) => {
        // Best effort: what a sweep could not remove is still there for the next pass.
        await removeTree(this.#volume, path).catch(() => {});
      },
      removeObject: (id) => this.#removeObject(id),
    };
  }

  /** Forgets the in-memory view when stepping down: the next term starts from the saved state. */
  stepDown(): void {
    this.#acc = null;
    this.#applied.clear();
    this.#cursor = 0;
  }

  async #bootstrap(now: number): Promise<void> {
    const previous = await readSummary(this.#volume.dir);
    this.#evictedObjects = previous?.evictedObjects ?? 0;
    this.#consolidated = new Map(Object.entries(previous?.consolidated ?? {}));
    this.#lastEviction = previous?.lastEviction ?? null;
    const saved = await loadAccounting(this.#volume.dir);
    if (saved !== null) {
      this.#acc = saved;
      this.#lastScan = previous?.lastScanAt ?? 0;
      this.#passStarted = this.#lastScan;
      return;
    }
    // State lost or never written: the files are the truth.
    const acc = new Accounting();
    correctAccounting(acc, await scanVolume(this.#volume.dir), now);
    this.#acc = acc;
    this.#lastScan = now;
    this.#passStarted = now;
    this.#opts.log.info('volume accounting rebuilt by a scan', { bytes: acc.totalBytes });
  }

  /** Applies closed segments, and open ones of dead instances, that the accounting does not hold yet. */
  async #consolidate(acc: Accounting, beats: Map<string, Heartbeat>): Promise<void> {
    const now = Date.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const seg of await listSegments(this.#volume.dir)) {
      if (this.#applied.has(seg.path)) continue;
      if (seg.open && !isDead(beats.get(seg.instance), this.#opts.deadAfterMs, now)) continue;
      let text: string;
      try {
        text = await readFile(seg.path, 'utf8');
      } catch {
        continue;
      }
      let newest = this.#consolidated.get(seg.instance) ?? 0;
      for (const { at, event } of parseSegment(text)) {
        acc.apply(at, event);
        if (at > 0) oldest = Math.min(oldest, at);
        newest = Math.max(newest, at);
      }
      this.#consolidated.set(seg.instance, newest);
      this.#applied.add(seg.path);
    }
    this.#lagMs = Number.isFinite(oldest) ? now - oldest : 0;
  }

  /**
   * Cleans up after dead instances at once (reaper.ts). One that crashed may have written files it never
   * journaled: a pass of the scan starts now, at the recovery pace, to correct the accounting.
   */
  async #reap(beats: Map<string, Heartbeat>): Promise<void> {
    const report = await reapDeadInstances(
      this.#volume.dir,
      this.#volume.instanceId,
      beats,
      this.#opts.liveness,
      () => this.#leader.stillLeader(),
      Date.now(),
    );
    if (report.instances.length === 0) return;
    this.#opts.log.info('cleaned up after dead instances', { ...report });
    if (report.crashed.length > 0) {
      // Shards the current pass has already scanned may hold the crashed instance's last files.
      this.#recovering = true;
      this.#cursor = 0;
    }
  }

  async #evict(acc: Accounting, limits: CapacityLimits): Promise<void> {
    const started = Date.now();
    const victims = chooseVictims(acc, limits, started);
    if (victims.length === 0) return;
    const done: Victim[] = [];
    for (let i = 0; i < victims.length; i += EVICTION_BATCH) {
      if (!(await this.#leader.stillLeader())) break;
      const batch = victims.slice(i, i + EVICTION_BATCH);
      // Adds journaled from now on may be refills that survive the removal: they stay counted.
      const at = Date.now();
      await Promise.all(batch.map((v) => this.#removeObject(v.object)));
      for (const v of batch) acc.evicted(v.object, at);
      done.push(...batch);
    }
    if (done.length === 0) return;
    const report: EvictionReport = {
      at: Date.now(),
      objects: done.length,
      files: done.reduce((n, v) => n + v.files, 0),
      bytes: done.reduce((n, v) => n + v.bytes, 0),
      ms: Date.now() - started,
    };
    this.#lastEviction = report;
    this.#evictedObjects += done.length;
    this.evictions += done.length;
    this.#opts.onEvicted?.(report);
    this.#opts.log.info('evicted', { ...report, total: acc.totalBytes });
  }

  /** Removes an object's record (under its lock, so no update is lost half-way) and all its data. */
  async #removeObject(id: string): Promise<void> {
    const recordPath = join(this.#volume.dir, 'objects', `${id}.json`);
    const record = await readRecordLoosely(recordPath);
    if (record !== null) {
      const k = { namespace: record.namespace, bucket: record.bucket, key: record.key };
      // Without its lock (a holder that hangs, say) the record goes all the same: eviction must make room.
      await this.#records.remove(k).catch(async () => {
        await rm(recordPath, { force: true });
        await this.#records.markChanged();
      });
      // Best effort: chunks no record names are removed by the rolling scan (stale versions).
      await this.#chunks.removeObject(k).catch(() => {});
    } else {
      await rm(recordPath, { force: true });
      await this.#records.markChanged();
    }
    // Data of a record that was unreadable (or already gone): the tree still goes, moved away first.
    // Best effort, like the line above: the rolling scan removes versions no record names.
    await removeTree(this.#volume, join(this.#volume.dir, 'data', id)).catch(() => {});
  }

  #summary(acc: Accounting): VolumeSummary {
    return {
      savedAt: Date.now(),
      leader: this.#volume.instanceId,
      token: this.#leader.token,
      maxBytes: this.#opts.limits.maxBytes,
      totalBytes: acc.totalBytes,
      writtenBytes: acc.writtenBytes(),
      objects: acc.objects.size,
      versions: acc.versionCount,
      lastEviction: this.#lastEviction,
      evictedObjects: this.#evictedObjects,
      consolidationLagMs: this.#lagMs,
      consolidated: Object.fromEntries(this.#consolidated),
      lastScanAt: this.#lastScan || null,
    };
  }
}
