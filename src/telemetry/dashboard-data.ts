// The JSON the dashboard page reads: totals since start, a short history sampled on a timer (so the
// page shows the last minutes even when it was just opened), the cache's fill, top keys and the fleet.

import type { HistogramMetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { METRICS } from './catalog.js';
import type { FleetInstance, LastEviction } from './fleet.js';
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
  /** The latency histogram's points, from the meter; null when it could not be read. */
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
  instance: { id: string; version: string; volume: string; chunkSize: number; startedAt: string };
}

/** Cumulative numbers at one moment; the history is made of differences between samples. */
interface Sample {
  at: number;
  requests: number;
  cached: number;
  lookedUp: number;
  bytesFromCache: number;
  bytesFromS3: number;
  latency: { count: number; sum: number; buckets: number[]; bounds: number[] };
}

export interface HistoryPoint {
  /** End of the interval, ISO 8601. */
  at: string;
  requestsPerSecond: number;
  /** Of the requests with an X-Cache value, the share answered from cache; null when there were none. */
  hitRatio: number | null;
  meanMs: number | null;
  p95Ms: number | null;
  cacheBytesPerSecond: number;
  s3BytesPerSecond: number;
}

export class DashboardData {
  readonly #s: DashboardSources;
  readonly #samples: Sample[] = [];
  readonly #keep: number;
  #timer: NodeJS.Timeout | null = null;

  /** Samples every `sampleMs`, keeping `windowMs` of history. */
  constructor(sources: DashboardSources, sampleMs = 5_000, windowMs = 15 * 60_000) {
    this.#s = sources;
    this.#keep = Math.ceil(windowMs / sampleMs) + 1;
    const sample = () => void this.sample().catch(() => {});
    sample();
    this.#timer = setInterval(sample, sampleMs);
    this.#timer.unref();
  }

  async sample(): Promise<DashboardInputs> {
    const now = await this.#s.read();
    let requests = 0;
    let cached = 0;
    let lookedUp = 0;
    for (const [, result, n] of now.requestCounts) {
      requests += n;
      if (result !== 'NONE') lookedUp += n;
      if (result === 'HIT' || result === 'REVALIDATED') cached += n;
    }
    this.#samples.push({
      at: Date.now(),
      requests,
      cached,
      lookedUp,
      bytesFromCache: now.bytesFromCache,
      bytesFromS3: now.bytesFromS3,
      latency: latencyOf(now.metrics),
    });
    if (this.#samples.length > this.#keep) this.#samples.shift();
    return now;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async json(): Promise<Record<string, unknown>> {
    const now = await this.sample();
    const s = this.#s;
    const last = this.#samples.at(-1) as Sample;
    // The sample just taken ends the history; drop it again so that the timer's spacing stays even.
    this.#samples.pop();
    const points = [...this.#samples, last];
    const history: HistoryPoint[] = [];
    for (let i = 1; i < points.length; i++) history.push(point(points[i - 1] as Sample, points[i] as Sample));
    const minuteAgo = last.at - 60_000;
    const since = points.find((p) => p.at >= minuteAgo) ?? last;
    const fleet = now.fleet;
    return {
      instance: s.instance,
      now: new Date(last.at).toISOString(),
      totals: {
        requests: last.requests,
        cacheable: last.lookedUp,
        fromCache: last.cached,
        hitRatio: last.lookedUp > 0 ? last.cached / last.lookedUp : null,
        bytesFromCache: last.bytesFromCache,
        bytesFromS3: last.bytesFromS3,
        activeRequests: now.activeRequests,
      },
      cache: {
        bytes: now.cacheBytes,
        capacity: s.capacity,
        ramBytes: now.ramBytes,
        ramCapacity: s.ramCapacity,
      },
      history,
      /** The cards' figures: from the oldest sample of the last minute to now. */
      lastMinute: since === last ? null : point(since, last),
      topKeys: now.topKeys,
      fleet: {
        known: fleet.leader !== null,
        leader: fleet.leader,
        instances: fleet.instances,
        lastEviction: fleet.lastEviction,
      },
    };
  }
}

function latencyOf(rm: ResourceMetrics | null): Sample['latency'] {
  const out = { count: 0, sum: 0, buckets: [] as number[], bounds: [] as number[] };
  for (const scope of rm?.scopeMetrics ?? []) {
    for (const m of scope.metrics) {
      if (m.descriptor.name !== METRICS.duration.name) continue;
      for (const dp of (m as HistogramMetricData).dataPoints) {
        out.count += dp.value.count;
        out.sum += dp.value.sum ?? 0;
        out.bounds = dp.value.buckets.boundaries;
        dp.value.buckets.counts.forEach((c, i) => {
          out.buckets[i] = (out.buckets[i] ?? 0) + c;
        });
      }
    }
  }
  return out;
}

function point(a: Sample, b: Sample): HistoryPoint {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  const looked = b.lookedUp - a.lookedUp;
  const count = b.latency.count - a.latency.count;
  return {
    at: new Date(b.at).toISOString(),
    // A worker started again counts from zero (src/server/worker-group.ts): no negative rates.
    requestsPerSecond: Math.max(0, b.requests - a.requests) / secs,
    hitRatio: looked > 0 ? (b.cached - a.cached) / looked : null,
    meanMs: count > 0 ? ((b.latency.sum - a.latency.sum) / count) * 1000 : null,
    p95Ms: count > 0 ? quantileMs(a.latency, b.latency, 0.95) : null,
    cacheBytesPerSecond: Math.max(0, b.bytesFromCache - a.bytesFromCache) / secs,
    s3BytesPerSecond: Math.max(0, b.bytesFromS3 - a.bytesFromS3) / secs,
  };
}

/** The upper bound of the bucket where the quantile falls, over the interval between two snapshots. */
function quantileMs(a: Sample['latency'], b: Sample['latency'], q: number): number {
  const deltas = b.buckets.map((c, i) => c - (a.buckets[i] ?? 0));
  const total = deltas.reduce((x, y) => x + y, 0);
  let seen = 0;
  for (let i = 0; i < deltas.length; i++) {
    seen += deltas[i] as number;
    if (seen >= q * total) return (b.bounds[i] ?? b.bounds.at(-1) ?? 0) * 1000;
  }
  return (b.bounds.at(-1) ?? 0) * 1000;
}
