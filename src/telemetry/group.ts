// A worker group seen as one: what each worker reports (src/server/instance-views.ts) added up by the
// primary for its admin listener. Counters and histograms are summed point by point (same attributes);
// gauges follow their catalog entry's `acrossWorkers`; readiness is "ready" while any worker is.

import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { METRICS } from './catalog.js';
import type { DashboardInputs } from './dashboard-data.js';
import type { ReadinessReport } from './health.js';
import type { KeyCount } from './top-keys.js';
import type { CacheResult } from './traffic.js';

/** One worker's answer: its number in the group (1..N), its process id, and what it reported. */
export interface WorkerPart<T> {
  worker: number;
  pid: number;
  value: T;
}

const ACROSS = new Map(
  Object.values(METRICS).map((m) => [m.name, 'acrossWorkers' in m ? m.acrossWorkers : undefined]),
);

type Point = DataPoint<number> | DataPoint<Histogram>;

function attributesKey(a: Attributes): string {
  return JSON.stringify(Object.entries(a).sort(([x], [y]) => x.localeCompare(y)));
}

function addPoint(into: Point, p: Point, type: DataPointType, across: string | undefined): Point {
  const startTime = into.startTime[0] <= p.startTime[0] ? into.startTime : p.startTime;
  const endTime = into.endTime[0] >= p.endTime[0] ? into.endTime : p.endTime;
  if (type === DataPointType.HISTOGRAM) {
    const a = into.value as Histogram;
    const b = p.value as Histogram;
    const value: Histogram = {
      buckets: {
        boundaries: a.buckets.boundaries,
        counts: a.buckets.counts.map((c, i) => c + (b.buckets.counts[i] ?? 0)),
      },
      count: a.count + b.count,
      sum: (a.sum ?? 0) + (b.sum ?? 0),
      ...(a.min !== undefined && b.min !== undefined ? { min: Math.min(a.min, b.min) } : {}),
      ...(a.max !== undefined && b.max !== undefined ? { max: Math.max(a.max, b.max) } : {}),
    };
    return { ...into, startTime, endTime, value };
  }
  const a = into.value as number;
  const b = p.value as number;
  return { ...into, startTime, endTime, value: across === 'max' ? Math.max(a, b) : a + b };
}

/**
 * The points of every part as one list of metrics. Gauges marked `each` get a `kura.worker` attribute
 * (the part's worker number); parts with worker 0 carry only counters and histograms.
 */
export function mergeScopes(parts: { worker: number; scopes: ScopeMetrics[] }[]): ScopeMetrics[] {
  const scopes = new Map<string, { scope: ScopeMetrics['scope']; metrics: Map<string, MetricData> }>();
  for (const part of parts) {
    for (const sm of part.scopes) {
      let scope = scopes.get(sm.scope.name);
      if (!scope) {
        scope = { scope: sm.scope, metrics: new Map() };
        scopes.set(sm.scope.name, scope);
      }
      for (const m of sm.metrics) {
        const across = ACROSS.get(m.descriptor.name);
        const points = new Map<string, Point>();
        const existing = scope.metrics.get(m.descriptor.name);
        for (const p of (existing?.dataPoints ?? []) as Point[]) points.set(attributesKey(p.attributes), p);
        for (const p of m.dataPoints as Point[]) {
          const labelled =
            m.dataPointType === DataPointType.GAUGE && across === 'each'
              ? { ...p, attributes: { ...p.attributes, 'kura.worker': String(part.worker) } }
              : p;
          const key = attributesKey(labelled.attributes);
          const had = points.get(key);
          points.set(key, had ? addPoint(had, labelled, m.dataPointType, across) : labelled);
        }
        scope.metrics.set(m.descriptor.name, { ...m, dataPoints: [...points.values()] } as MetricData);
      }
    }
  }
  return [...scopes.values()].map((s) => ({ scope: s.scope, metrics: [...s.metrics.values()] }));
}

/**
 * What a worker that died had counted, as last reported: kept so that the group's counters never go
 * down when a worker is replaced (what it counted after its last report is lost).
 */
export function retire(retired: ScopeMetrics[], last: ScopeMetrics[]): ScopeMetrics[] {
  const cumulative = last.map((s) => ({
    scope: s.scope,
    metrics: s.metrics.filter((m) => m.dataPointType !== DataPointType.GAUGE),
  }));
  return mergeScopes([
    { worker: 0, scopes: retired },
    { worker: 0, scopes: cumulative },
  ]);
}

/** The group's metrics: every worker's, the retired counts, and the primary's own worker numbers. */
export function groupMetrics(
  resource: Resource,
  parts: WorkerPart<ResourceMetrics>[],
  retired: ScopeMetrics[],
  own: { running: number; restarts: number },
): ResourceMetrics {
  const merged = mergeScopes([
    { worker: 0, scopes: retired },
    ...parts.map((p) => ({ worker: p.worker, scopes: p.value.scopeMetrics })),
  ]);
  const replace: Record<string, number> = {
    [METRICS.workers.name]: own.running,
    [METRICS.workerRestarts.name]: own.restarts,
  };
  const scopeMetrics = merged.map((s) => ({
    scope: s.scope,
    metrics: s.metrics.map((m) => {
      const value = replace[m.descriptor.name];
      if (value === undefined) return m;
      return {
        ...m,
        dataPoints: (m.dataPoints as DataPoint<number>[]).map((p) => ({ ...p, value })),
      } as MetricData;
    }),
  }));
  return { resource, scopeMetrics };
}

/** Numbers added, objects merged key by key, anything else (strings, booleans) taken from `a`. */
export function sumTree(a: unknown, b: unknown): unknown {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = sumTree(out[k], v);
    return out;
  }
  return a;
}

/**
 * /stats of the group: each worker's counters summed, the volume and rules as every worker has them,
 * `fleet.leader` true when a worker leads, and each worker's own figures under `workers`.
 */
export function groupStats(parts: WorkerPart<Record<string, unknown>>[]): Record<string, unknown> {
  type Stats = Record<string, Record<string, unknown> | null | number>;
  const all = parts.map((p) => p.value as Stats);
  const sum = (key: string) =>
    all.map((s) => s[key] as unknown).reduce<unknown>((x, y) => sumTree(x, y), null);
  const fleet = sum('fleet') as Record<string, unknown> | null;
  const volume = all[0]?.volume as Record<string, unknown> | undefined;
  return {
    cache: sum('cache'),
    requests: sum('requests'),
    ram: sum('ram'),
    volume: volume && { ...volume, instance: all.map((s) => (s.volume as Record<string, unknown>).instance) },
    rules: all[0]?.rules ?? null,
    fleet: fleet && {
      ...fleet,
      leader: all.some((s) => (s.fleet as Record<string, unknown>).leader === true),
    },
    passthrough: sum('passthrough'),
    connect: sum('connect'),
    workers: parts.map((p) => ({ worker: p.worker, pid: p.pid, ...p.value })),
  };
}

/**
 * Ready while at least one worker is ready (each worker sends its clients nowhere else). A check is ok
 * when it is ok in some worker; the `workers` check fails when none is ready.
 */
export function groupReadiness(
  parts: WorkerPart<ReadinessReport | null>[],
  expected: number,
  stopping: boolean,
): ReadinessReport & { workers: unknown[] } {
  const answered = parts.filter((p) => p.value !== null) as WorkerPart<ReadinessReport>[];
  const ready = answered.filter((p) => p.value.ready).length;
  const checks: ReadinessReport['checks'] = {
    shutdown: stopping ? { ok: false, problem: 'shutting down' } : { ok: true },
    workers:
      ready > 0
        ? { ok: true }
        : { ok: false, problem: `no worker is ready (${answered.length} of ${expected} answered)` },
  };
  for (const p of answered) {
    for (const [name, c] of Object.entries(p.value.checks)) {
      if (name === 'shutdown') continue;
      if (!checks[name] || (!checks[name].ok && c.ok)) checks[name] = c;
    }
  }
  return {
    ready: !stopping && ready > 0,
    checks,
    workers: parts.map((p) => ({ worker: p.worker, pid: p.pid, ready: p.value?.ready ?? false, ...p.value })),
  };
}

/** The dashboard's inputs of the group: counts summed, the fleet as the workers see it. */
export function groupDashboard(parts: WorkerPart<DashboardInputs>[]): DashboardInputs {
  const requests = new Map<string, number>();
  const keys = new Map<string, KeyCount>();
  let activeRequests = 0;
  let bytesFromCache = 0;
  let bytesFromS3 = 0;
  let ramBytes = 0;
  let cacheBytes: number | null = null;
  for (const { value: d } of parts) {
    for (const [op, result, n] of d.requestCounts) {
      const k = `${op}\t${result}`;
      requests.set(k, (requests.get(k) ?? 0) + n);
    }
    for (const c of d.topKeys) {
      const k = `${c.bucket}/${c.key}`;
      const had = keys.get(k);
      keys.set(
        k,
        had
          ? {
              ...had,
              requests: had.requests + c.requests,
              hits: had.hits + c.hits,
              bytes: had.bytes + c.bytes,
            }
          : c,
      );
    }
    activeRequests += d.activeRequests;
    bytesFromCache += d.bytesFromCache;
    bytesFromS3 += d.bytesFromS3;
    ramBytes += d.ramBytes;
    if (d.cacheBytes !== null) cacheBytes = Math.max(cacheBytes ?? 0, d.cacheBytes);
  }
  const withMetrics = parts.filter((p) => p.value.metrics !== null);
  const first = withMetrics[0]?.value.metrics;
  const fleet = parts[0]?.value.fleet ?? { leader: null, instances: null, lastEviction: null };
  return {
    requestCounts: [...requests].map(([k, n]) => {
      const [op, result] = k.split('\t') as [string, CacheResult];
      return [op, result, n];
    }),
    activeRequests,
    bytesFromCache,
    bytesFromS3,
    metrics: first
      ? {
          resource: first.resource,
          scopeMetrics: mergeScopes(
            withMetrics.map((p) => ({
              worker: p.worker,
              scopes: (p.value.metrics as ResourceMetrics).scopeMetrics,
            })),
          ),
        }
      : null,
    topKeys: [...keys.values()].sort((a, b) => b.requests - a.requests || b.bytes - a.bytes).slice(0, 10),
    cacheBytes,
    ramBytes,
    fleet: {
      ...fleet,
      leader: parts.some((p) => p.value.fleet.leader === true) ? true : fleet.leader,
    },
  };
}
