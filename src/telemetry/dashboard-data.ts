// The JSON the dashboard page reads: totals since start, a short history sampled on a timer (so the
// page shows the last minutes even when it was just opened), the cache's fill, top keys, and the same
// numbers for the whole fleet on the volume, with a row per instance (fleet-stats.ts).

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { type Counts, countsOf, type HistoryPoint, minus, pointOf } from './dashboard-counts.js';
import type { FleetInstance, LastEviction } from './fleet.js';
import { type FleetSample, FleetStats, fleetCounts, fleetDelta, memberRow } from './fleet-stats.js';
import type { KeyCount } from './top-keys.js';
import type { CacheResult } from './traffic.js';

/**
 * What the dashboard reads at one moment: plain data, so that one process can read it from another
 * (a worker group's primary gathers it from every worker: src/server/worker-group.ts).
 */
export interface DashboardInputs {
  requestCounts: [string, CacheResult, number][];
  activeRequests: number;
  bytesFromCache: number;
  bytesFromS3: number;
  /** The meter's points (latency histogram, error counters); null when they could not be read. */
  metrics: ResourceMetrics | null;
  topKeys: KeyCount[];
  cacheBytes: number | null;
  ramBytes: number;
  fleet: {
    leader: boolean | null;
    instances: FleetInstance[] | null;
    lastEviction: LastEviction | null;
  };
}

export interface DashboardSources {
  read(): Promise<DashboardInputs>;
  capacity: number;
  ramCapacity: number;
  instance: {
    /** The volume instance id of a single process; a worker group's own id. */
    id: string;
    version: string;
    volume: string;
    chunkSize: number;
    startedAt: string;
    /** Worker processes whose numbers `read` adds up; 1 for a single process. */
    workers: number;
    host: string;
    pid: number;
  };
}

interface Sample {
  at: number;
  counts: Counts;
}

export class DashboardData {
  readonly #s: DashboardSources;
  readonly #samples: Sample[] = [];
  readonly #fleetSamples: FleetSample[] = [];
  readonly #keep: number;
  readonly #fleet: FleetStats;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | null = null;

  /** Samples every `sampleMs`, keeping `windowMs` of history; publishes each sample on the volume. */
  constructor(sources: DashboardSources, sampleMs = 5_000, windowMs = 15 * 60_000) {
    this.#s = sources;
    this.#keep = Math.ceil(windowMs / sampleMs) + 1;
    this.#startedAt = Date.parse(sources.instance.startedAt);
    this.#fleet = new FleetStats(sources.instance.volume, sources.instance.id, sampleMs);
    // A failed sample is a gap in the history; the page asks again and shows the error itself.
    const sample = () => void this.sample().catch(() => {});
    sample();
    this.#timer = setInterval(sample, sampleMs);
    this.#timer.unref();
  }

  async sample(): Promise<{ now: DashboardInputs; fleet: FleetSample }> {
    const now = await this.#s.read();
    const at = Date.now();
    const counts = countsOf(now.requestCounts, now.bytesFromCache, now.bytesFromS3, now.metrics);
    this.#samples.push({ at, counts });
    if (this.#samples.length > this.#keep) this.#samples.shift();
    const i = this.#s.instance;
    const fleet = await this.#fleet.exchange(
      {
        host: i.host,
        pid: i.pid,
        workers: i.workers,
        version: i.version,
        startedAt: this.#startedAt,
        leader: now.fleet.leader,
        activeRequests: now.activeRequests,
        counts,
      },
      at,
    );
    this.#fleetSamples.push(fleet);
    if (this.#fleetSamples.length > this.#keep) this.#fleetSamples.shift();
    return { now, fleet };
  }

  /** Stops sampling and takes this instance's numbers off the volume. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#fleet.close();
  }

  async json(): Promise<Record<string, unknown>> {
    const { now, fleet } = await this.sample();
    const s = this.#s;
    // The sample just taken ends the history; drop it again so that the timer's spacing stays even.
    const last = this.#samples.pop() as Sample;
    this.#fleetSamples.pop();
    const own = history([...this.#samples, last], (a, b) => minus(b.counts, a.counts));
    const fleetHistory = history([...this.#fleetSamples, fleet], fleetDelta);
    const t = last.counts;
    const all = fleetCounts(fleet);
    const members = [...fleet.members.values()];
    return {
      instance: s.instance,
      now: new Date(last.at).toISOString(),
      totals: {
        requests: t.requests,
        cacheable: t.lookedUp,
        fromCache: t.cached,
        hitRatio: t.lookedUp > 0 ? t.cached / t.lookedUp : null,
        bytesFromCache: t.bytesFromCache,
        bytesFromS3: t.bytesFromS3,
        activeRequests: now.activeRequests,
        errors: t.errors,
      },
      cache: {
        bytes: now.cacheBytes,
        capacity: s.capacity,
        ramBytes: now.ramBytes,
        ramCapacity: s.ramCapacity,
      },
      history: own.points,
      /** The cards' figures: from the oldest sample of the last minute to now. */
      lastMinute: own.lastMinute,
      topKeys: now.topKeys,
      fleet: {
        known: now.fleet.leader !== null,
        leader: now.fleet.leader,
        instances: now.fleet.instances,
        lastEviction: now.fleet.lastEviction,
        totals: {
          members: members.length,
          workers: members.reduce((n, m) => n + m.workers, 0),
          requests: all.requests,
          cacheable: all.lookedUp,
          fromCache: all.cached,
          hitRatio: all.lookedUp > 0 ? all.cached / all.lookedUp : null,
          bytesFromCache: all.bytesFromCache,
          bytesFromS3: all.bytesFromS3,
          activeRequests: members.reduce((n, m) => n + m.activeRequests, 0),
          errors: all.errors,
        },
        members: members.map((m) => memberRow(m, s.instance.id)),
        history: fleetHistory.points,
        lastMinute: fleetHistory.lastMinute,
      },
    };
  }
}

/** The points between consecutive samples, and one over the last minute (null with a single sample). */
function history<T extends { at: number }>(
  samples: T[],
  delta: (a: T, b: T) => Counts,
): { points: HistoryPoint[]; lastMinute: HistoryPoint | null } {
  const points: HistoryPoint[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as T;
    const b = samples[i] as T;
    points.push(pointOf(delta(a, b), b.at, b.at - a.at));
  }
  const last = samples.at(-1) as T;
  const since = samples.find((p) => p.at >= last.at - 60_000) ?? last;
  return {
    points,
    lastMinute: since === last ? null : pointOf(delta(since, last), last.at, last.at - since.at),
  };
}
