// The dashboard's cumulative numbers of one instance (or a sum of instances), and the rates between two
// moments. Errors are taken by kind from the meter's points, so that they are the ones /metrics shows.

import type { DataPoint, HistogramMetricData, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { METRICS } from './catalog.js';
import type { CacheResult } from './traffic.js';

export interface Latency {
  count: number;
  sum: number;
  buckets: number[];
  bounds: number[];
}

/** Numbers since the instance started; the history is made of differences between two of them. */
export interface Counts {
  requests: number;
  /** Requests answered HIT or REVALIDATED. */
  cached: number;
  /** Requests with an X-Cache value (the ones the cache had a say in). */
  lookedUp: number;
  bytesFromCache: number;
  bytesFromS3: number;
  latency: Latency;
  /** By kind: `responses.5xx`, `responses.4xx`, `origin.{error.type}`, `cache.{kind}`. */
  errors: Record<string, number>;
}

export interface HistoryPoint {
  /** End of the interval, ISO 8601. */
  at: string;
  requestsPerSecond: number;
  /** Requests answered from cache (HIT or REVALIDATED) per second. */
  cachedPerSecond: number;
  /** Of the requests with an X-Cache value, the share answered from cache; null when there were none. */
  hitRatio: number | null;
  meanMs: number | null;
  p95Ms: number | null;
  cacheBytesPerSecond: number;
  s3BytesPerSecond: number;
  /** Errors per minute: responses with a 5xx status, failed requests to S3, the cache's own failures. */
  errorsPerMinute: { responses: number; origin: number; cache: number };
}

export const EMPTY_COUNTS: Counts = {
  requests: 0,
  cached: 0,
  lookedUp: 0,
  bytesFromCache: 0,
  bytesFromS3: 0,
  latency: { count: 0, sum: 0, buckets: [], bounds: [] },
  errors: {},
};

export function countsOf(
  requestCounts: [string, CacheResult, number][],
  bytesFromCache: number,
  bytesFromS3: number,
  metrics: ResourceMetrics | null,
): Counts {
  let requests = 0;
  let cached = 0;
  let lookedUp = 0;
  for (const [, result, n] of requestCounts) {
    requests += n;
    if (result !== 'NONE') lookedUp += n;
    if (result === 'HIT' || result === 'REVALIDATED') cached += n;
  }
  return {
    requests,
    cached,
    lookedUp,
    bytesFromCache,
    bytesFromS3,
    latency: latencyOf(metrics),
    errors: errorsOf(metrics),
  };
}

function metricsNamed(rm: ResourceMetrics | null, name: string): MetricData[] {
  return (rm?.scopeMetrics ?? []).flatMap((s) => s.metrics.filter((m) => m.descriptor.name === name));
}

function latencyOf(rm: ResourceMetrics | null): Latency {
  const out: Latency = { count: 0, sum: 0, buckets: [], bounds: [] };
  for (const m of metricsNamed(rm, METRICS.duration.name)) {
    for (const dp of (m as HistogramMetricData).dataPoints) {
      out.count += dp.value.count;
      out.sum += dp.value.sum ?? 0;
      out.bounds = dp.value.buckets.boundaries;
      dp.value.buckets.counts.forEach((c, i) => {
        out.buckets[i] = (out.buckets[i] ?? 0) + c;
      });
    }
  }
  return out;
}

/** The kinds the dashboard lists, each with the counter points it adds up (as deploy/grafana does). */
const CACHE_ERRORS: [kind: string, metric: string, attribute: string | null, value: string | null][] = [
  ['cache.chunk-write', METRICS.chunkWrites.name, 'kura.outcome', 'error'],
  ['cache.corrupt-chunk', METRICS.corrupt.name, null, null],
  ['cache.corrupt-record', METRICS.corruptRecords.name, null, null],
  ['cache.revalidation', METRICS.revalidations.name, 'kura.revalidation.outcome', 'error'],
  ['cache.bypass', METRICS.bypasses.name, 'kura.bypass.reason', 'cache-error'],
  ['cache.upload', METRICS.uploads.name, 'kura.write.reason', 'cache-error'],
];

function errorsOf(rm: ResourceMetrics | null): Record<string, number> {
  const out: Record<string, number> = { 'responses.5xx': 0, 'responses.4xx': 0 };
  const add = (kind: string, n: number) => {
    out[kind] = (out[kind] ?? 0) + n;
  };
  for (const m of metricsNamed(rm, METRICS.duration.name)) {
    for (const dp of (m as HistogramMetricData).dataPoints) {
      const status = Number(dp.attributes['http.response.status_code']);
      if (status >= 500) add('responses.5xx', dp.value.count);
      else if (status >= 400) add('responses.4xx', dp.value.count);
    }
  }
  for (const m of metricsNamed(rm, METRICS.upstreamErrors.name)) {
    for (const dp of m.dataPoints as DataPoint<number>[])
      add(`origin.${dp.attributes['error.type']}`, dp.value);
  }
  for (const [kind, name, attribute, value] of CACHE_ERRORS) {
    add(kind, 0);
    for (const m of metricsNamed(rm, name)) {
      for (const dp of m.dataPoints as DataPoint<number>[]) {
        if (attribute === null || dp.attributes[attribute] === value) add(kind, dp.value);
      }
    }
  }
  return out;
}

/** `b - a`, each number at least 0: a worker started again counts from zero (src/server/worker-group.ts). */
export function minus(b: Counts, a: Counts): Counts {
  const d = (x: number, y: number) => Math.max(0, x - y);
  const errors: Record<string, number> = {};
  for (const [k, n] of Object.entries(b.errors)) errors[k] = d(n, a.errors[k] ?? 0);
  return {
    requests: d(b.requests, a.requests),
    cached: d(b.cached, a.cached),
    lookedUp: d(b.lookedUp, a.lookedUp),
    bytesFromCache: d(b.bytesFromCache, a.bytesFromCache),
    bytesFromS3: d(b.bytesFromS3, a.bytesFromS3),
    latency: {
      count: d(b.latency.count, a.latency.count),
      sum: d(b.latency.sum, a.latency.sum),
      buckets: b.latency.buckets.map((c, i) => d(c, a.latency.buckets[i] ?? 0)),
      bounds: b.latency.bounds,
    },
    errors,
  };
}

export function plus(a: Counts, b: Counts): Counts {
  const errors: Record<string, number> = { ...a.errors };
  for (const [k, n] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + n;
  const length = Math.max(a.latency.buckets.length, b.latency.buckets.length);
  return {
    requests: a.requests + b.requests,
    cached: a.cached + b.cached,
    lookedUp: a.lookedUp + b.lookedUp,
    bytesFromCache: a.bytesFromCache + b.bytesFromCache,
    bytesFromS3: a.bytesFromS3 + b.bytesFromS3,
    latency: {
      count: a.latency.count + b.latency.count,
      sum: a.latency.sum + b.latency.sum,
      buckets: Array.from({ length }, (_, i) => (a.latency.buckets[i] ?? 0) + (b.latency.buckets[i] ?? 0)),
      bounds: b.latency.bounds.length > 0 ? b.latency.bounds : a.latency.bounds,
    },
    errors,
  };
}

export function errorTotals(errors: Record<string, number>): HistoryPoint['errorsPerMinute'] {
  const out = { responses: 0, origin: 0, cache: 0 };
  for (const [kind, n] of Object.entries(errors)) {
    if (kind === 'responses.5xx') out.responses += n;
    else if (kind.startsWith('origin.')) out.origin += n;
    else if (kind.startsWith('cache.')) out.cache += n;
  }
  return out;
}

/** The rates of an interval that ends at `at` and saw `d`. */
export function pointOf(d: Counts, at: number, ms: number): HistoryPoint {
  const secs = Math.max(0.001, ms / 1000);
  const e = errorTotals(d.errors);
  const perMinute = (n: number) => (n * 60) / secs;
  return {
    at: new Date(at).toISOString(),
    requestsPerSecond: d.requests / secs,
    cachedPerSecond: d.cached / secs,
    hitRatio: d.lookedUp > 0 ? d.cached / d.lookedUp : null,
    meanMs: d.latency.count > 0 ? (d.latency.sum / d.latency.count) * 1000 : null,
    p95Ms: d.latency.count > 0 ? quantileMs(d.latency, 0.95) : null,
    cacheBytesPerSecond: d.bytesFromCache / secs,
    s3BytesPerSecond: d.bytesFromS3 / secs,
    errorsPerMinute: {
      responses: perMinute(e.responses),
      origin: perMinute(e.origin),
      cache: perMinute(e.cache),
    },
  };
}

/** The upper bound of the bucket where the quantile falls. */
function quantileMs(l: Latency, q: number): number {
  const total = l.buckets.reduce((x, y) => x + y, 0);
  let seen = 0;
  for (let i = 0; i < l.buckets.length; i++) {
    seen += l.buckets[i] as number;
    if (seen >= q * total) return (l.bounds[i] ?? l.bounds.at(-1) ?? 0) * 1000;
  }
  return (l.bounds.at(-1) ?? 0) * 1000;
}
