// The fleet's numbers for the dashboard: at every sample an instance publishes its own counts on the
// shared volume (src/store/instance-stats.ts) and reads the others'. A member is one Kura instance with
// an admin port: a single process, or a worker group whose primary adds up its workers.

import {
  type InstanceStatsFile,
  readInstanceStats,
  removeInstanceStats,
  writeInstanceStats,
} from '../store/instance-stats.js';
import { type Counts, EMPTY_COUNTS, errorTotals, minus, plus } from './dashboard-counts.js';

/** What one member publishes. */
export interface MemberStats {
  host: string;
  pid: number;
  workers: number;
  version: string;
  /** ms since the epoch; a member started again is a new member (and has a new id). */
  startedAt: number;
  /** Whether this member (or one of its workers) holds the volume's leader lock; null when not known. */
  leader: boolean | null;
  activeRequests: number;
  counts: Counts;
}

export interface Member extends MemberStats {
  id: string;
  /** When its numbers were taken, ms since the epoch. */
  at: number;
}

/** The members at one moment, by id. */
export type FleetSample = { at: number; members: Map<string, Member> };

/** The row the dashboard shows for a member. */
export function memberRow(m: Member, selfId: string): Record<string, unknown> {
  const c = m.counts;
  const e = errorTotals(c.errors);
  return {
    id: m.id,
    self: m.id === selfId,
    host: m.host,
    pid: m.pid,
    workers: m.workers,
    version: m.version,
    startedAt: new Date(m.startedAt).toISOString(),
    reportedAt: new Date(m.at).toISOString(),
    leader: m.leader,
    activeRequests: m.activeRequests,
    requests: c.requests,
    cacheable: c.lookedUp,
    fromCache: c.cached,
    hitRatio: c.lookedUp > 0 ? c.cached / c.lookedUp : null,
    bytesFromCache: c.bytesFromCache,
    bytesFromS3: c.bytesFromS3,
    errors: e.responses + e.origin + e.cache,
  };
}

/** Every member's counts added up. */
export function fleetCounts(sample: FleetSample): Counts {
  let sum = EMPTY_COUNTS;
  for (const m of sample.members.values()) sum = plus(sum, m.counts);
  return sum;
}

/**
 * What the fleet did between two samples: each member's difference; a member that started after `a` with
 * all it did, one seen first at `b` but older than `a` with nothing (its earlier work is not in the
 * interval), one gone by `b` with nothing more.
 */
export function fleetDelta(a: FleetSample, b: FleetSample): Counts {
  let sum = EMPTY_COUNTS;
  for (const [id, m] of b.members) {
    const before = a.members.get(id);
    if (before && before.startedAt === m.startedAt) sum = plus(sum, minus(m.counts, before.counts));
    else if (m.startedAt >= a.at) sum = plus(sum, m.counts);
  }
  return sum;
}

/** Publishes this member's numbers and reads the others', on the shared volume. */
export class FleetStats {
  readonly #volumeDir: string;
  readonly #everyMs: number;
  readonly id: string;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(volumeDir: string, id: string, everyMs: number) {
    this.#volumeDir = volumeDir;
    this.id = id;
    this.#everyMs = everyMs;
  }

  /** Writes `own`, then reads every fresh member's file; this member is `own` itself. */
  async exchange(own: MemberStats, at: number): Promise<FleetSample> {
    const file: InstanceStatsFile = { id: this.id, at, everyMs: this.#everyMs, stats: own };
    if (!this.#closed) {
      // Telemetry of telemetry: a missed write is a gap in the fleet's page, not worth a line every 5 s.
      this.#writing = writeInstanceStats(this.#volumeDir, file).catch(() => {});
      await this.#writing;
    }
    const members = new Map<string, Member>([[this.id, { ...own, id: this.id, at }]]);
    // Other members' files unreadable (a volume hiccup): this sample shows this instance alone.
    for (const f of await readInstanceStats(this.#volumeDir, at).catch(() => [])) {
      if (f.id === this.id) continue;
      const m = memberOf(f);
      if (m) members.set(f.id, m);
    }
    return { at, members };
  }

  /** Removes this member's file once a write under way has ended; nothing is written after. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    // Best effort: a file left behind stops being fresh and drops off the page (and the volume's sweeps).
    await removeInstanceStats(this.#volumeDir, this.id).catch(() => {});
  }
}

/** A file's member, or null when its numbers are not of the shape this version writes. */
function memberOf(f: InstanceStatsFile): Member | null {
  const s = f.stats as Partial<MemberStats>;
  const c = s.counts as Partial<Counts> | undefined;
  const numbers = [c?.requests, c?.cached, c?.lookedUp, c?.bytesFromCache, c?.bytesFromS3, s.startedAt];
  if (!c || numbers.some((n) => typeof n !== 'number') || typeof c.errors !== 'object' || !c.latency) {
    return null;
  }
  return {
    id: f.id,
    at: f.at,
    host: String(s.host ?? ''),
    pid: Number(s.pid ?? 0),
    workers: Number(s.workers ?? 1),
    version: String(s.version ?? ''),
    startedAt: s.startedAt as number,
    leader: typeof s.leader === 'boolean' ? s.leader : null,
    activeRequests: Number(s.activeRequests ?? 0),
    counts: c as Counts,
  };
}
