// One OpenTelemetry MeterProvider per instance. Two readers collect from it: a Prometheus reader that
// the admin listener collects from on each scrape (no server of its own), and, when an endpoint is set,
// an OTLP/HTTP reader that pushes on an interval. Counters are observed from the plain numbers the cache
// and the listeners keep (one place counts, every view reads it); latencies are recorded as they end,
// into counts of their own that both readers collect (request-latency.ts).

import { type Attributes, DiagLogLevel, diag, type Meter, ValueType } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { METRICS, type MetricSpec } from './catalog.js';
import type { FleetStatus } from './fleet.js';
import type { Logger } from './log.js';
import { RequestLatency } from './request-latency.js';
import type { CacheResult, TrafficStats } from './traffic.js';

/** The cache's counters, as src/cache/stats.ts keeps them. */
export interface CacheCounters {
  hits: number;
  misses: number;
  partial: number;
  revalidations: Record<string, number>;
  bypasses: Record<string, number>;
  bytesFromRam: number;
  bytesFromDisk: number;
  bytesFromOrigin: number;
  bytesStoredRaw: number;
  bytesStoredOnDisk: number;
  chunksWritten: number;
  chunksSkipped: number;
  writeErrors: number;
  corruptChunks: number;
  corruptRecords: number;
  coalesced: number;
  invalidations: number;
  writesCached: number;
  writesNotCached: Record<string, number>;
  partsStaged: number;
  evictions: number;
  evictedBytes: number;
}

export interface RelayCounters {
  relayed: number;
  refused: Record<string, number>;
}

export interface MetricSources {
  traffic: TrafficStats;
  cache: CacheCounters;
  upstream: { errors: Record<string, number>; active: number; waiting: number };
  relays: { passthrough: RelayCounters | null; connect: RelayCounters | null };
  fleet: FleetStatus;
  /** Bytes of cached data on the volume, as this instance last scanned them; null before the first scan. */
  scannedBytes(): number | null;
  ramBytes(): number;
  capacity: number;
  ramCapacity: number;
  /** The readiness verdict /health/ready gives (kept for a second by src/telemetry/health.ts). */
  ready(): Promise<boolean>;
  /** Chunks the space gate refused because the volume was full (src/store/space-gate.ts). */
  refusedChunks(): number;
  /** Each gateway origin and its breaker's state as the metric counts it (0 closed, 1 half-open, 2 open). */
  gatewayOrigins?(): [origin: string, state: number][];
}

export interface OtlpOptions {
  endpoint: string;
  headers: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
}

export interface MetricsOptions {
  serviceVersion: string;
  instanceId: string;
  otlp: OtlpOptions | null;
  /** Where the SDK's own warnings go (a collector that cannot be reached, an export that timed out). */
  log?: Logger;
}

/** Seconds: from a RAM hit on loopback to a slow multi-gigabyte transfer. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** `http://host:4318` means the collector's default path, as the OTLP specification says. */
export function otlpMetricsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/metrics';
  return url.toString();
}

// Without the scope labels: every metric comes from the one meter named kura.
const SERIALIZER = new PrometheusSerializer(undefined, false, undefined, false, true);

/** The Prometheus text exposition format (version 0.0.4) of what a meter collected. */
export function prometheusText(metrics: ResourceMetrics): string {
  return SERIALIZER.serialize(metrics);
}

export class KuraMetrics {
  readonly #provider: MeterProvider;
  readonly #prometheus: PrometheusExporter;
  readonly #latency: RequestLatency;

  /**
   * The meter of an instance. The OTLP exporter's module is loaded only when an endpoint is set: its code
   * (and its serializers') would otherwise sit in every process's heap, which V8 grows in proportion to
   * (docs/operations.md, Memory).
   */
  static async create(sources: MetricSources, opts: MetricsOptions): Promise<KuraMetrics> {
    if (opts.otlp === null) return new KuraMetrics(sources, opts, null);
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    const exporter = new OTLPMetricExporter({
      url: otlpMetricsUrl(opts.otlp.endpoint),
      headers: opts.otlp.headers,
      timeoutMillis: opts.otlp.timeoutMs,
    });
    return new KuraMetrics(sources, opts, exporter);
  }

  private constructor(sources: MetricSources, opts: MetricsOptions, exporter: PushMetricExporter | null) {
    const log = opts.log;
    if (log) {
      // The SDK reports failed exports only through its diagnostic logger, which is silent by default.
      const forward = (at: 'error' | 'warn') => (msg: string) => log[at](`telemetry: ${firstLine(msg)}`);
      diag.setLogger(
        {
          error: forward('error'),
          warn: forward('warn'),
          info: () => {},
          debug: () => {},
          verbose: () => {},
        },
        { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
      );
    }
    // The latency histograms are kept apart from the meter (request-latency.ts); both readers collect them.
    this.#latency = new RequestLatency(METRICS, LATENCY_BUCKETS, {
      name: 'kura',
      version: opts.serviceVersion,
    });
    const metricProducers = [this.#latency];
    this.#prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers });
    const readers: MetricReader[] = [this.#prometheus];
    if (opts.otlp && exporter) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter,
          metricProducers,
          exportIntervalMillis: opts.otlp.intervalMs,
          // The reader refuses a timeout longer than its interval.
          exportTimeoutMillis: Math.min(opts.otlp.timeoutMs, opts.otlp.intervalMs),
        }),
      );
    }
    this.#provider = new MeterProvider({
      resource: resourceFromAttributes({
        'service.name': 'kura',
        'service.version': opts.serviceVersion,
        'service.instance.id': opts.instanceId,
      }),
      readers,
    });
    const meter = this.#provider.getMeter('kura', opts.serviceVersion);
    observeCounters(meter, sources);
    observeGauges(meter, sources);
  }

  /**
   * One request ended: its status code and latencies, in milliseconds (ttfb null when no response head
   * was sent).
   */
  requestEnded(
    method: string,
    status: number,
    result: CacheResult,
    ttfbMs: number | null,
    totalMs: number,
  ): void {
    this.#latency.record(method, status, result, ttfbMs === null ? null : ttfbMs / 1000, totalMs / 1000);
  }

  /** Everything the meter holds now (cumulative since start). */
  async collect(): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await this.#prometheus.collect();
    if (errors.length > 0) throw errors[0];
    return resourceMetrics;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  async prometheusText(): Promise<string> {
    return prometheusText(await this.collect());
  }

  /**
   * Pushes what the OTLP reader has not sent yet (so the last interval is not lost) and stops the
   * readers; gives up after `withinMs`, since an unreachable collector must not hold up a stop.
   */
  async shutdown(withinMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      // Failed exports are already logged through the SDK's diagnostic logger (constructor).
      this.#provider.shutdown().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, withinMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** The SDK hands over errors as JSON text with a stack; its first line says what happened. */
function firstLine(msg: string): string {
  try {
    const parsed = JSON.parse(msg) as { message?: string; stack?: string };
    return (parsed.message ?? parsed.stack ?? msg).split('\n')[0] as string;
  } catch {
    return msg.split('\n')[0] as string;
  }
}

type Observe = (value: number, attributes?: Attributes) => void;

function counter(meter: Meter, m: MetricSpec, read: (observe: Observe) => void): void {
  meter
    .createObservableCounter(m.name, { unit: m.unit, description: m.description, valueType: ValueType.INT })
    .addCallback((result) => read((v, a) => result.observe(v, a)));
}

function gauge(meter: Meter, m: MetricSpec, read: () => number | null): void {
  meter
    .createObservableGauge(m.name, { unit: m.unit, description: m.description, valueType: ValueType.INT })
    .addCallback((result) => {
      const v = read();
      if (v !== null) result.observe(v);
    });
}

function observeCounters(meter: Meter, s: MetricSources): void {
  const c = s.cache;
  counter(meter, METRICS.requests, (observe) => {
    for (const [op, result, n] of s.traffic.requestCounts()) {
      observe(n, { 'kura.operation': op, 'kura.cache.result': result });
    }
  });
  counter(meter, METRICS.bytes, (observe) => {
    observe(c.bytesFromRam, { 'kura.source': 'ram', 'network.io.direction': 'transmit' });
    observe(c.bytesFromDisk, { 'kura.source': 'disk', 'network.io.direction': 'transmit' });
    observe(c.bytesFromOrigin + s.traffic.passBytesFromS3, {
      'kura.source': 's3',
      'network.io.direction': 'receive',
    });
    observe(s.traffic.clientBytesIn, { 'kura.source': 'client', 'network.io.direction': 'receive' });
    observe(s.traffic.clientBytesOut, { 'kura.source': 'client', 'network.io.direction': 'transmit' });
  });
  counter(meter, METRICS.lookups, (observe) => {
    observe(c.hits, { 'kura.cache.result': 'hit' });
    observe(c.misses, { 'kura.cache.result': 'miss' });
    observe(c.partial, { 'kura.cache.result': 'partial' });
  });
  counter(meter, METRICS.revalidations, (observe) => {
    for (const [outcome, n] of Object.entries(c.revalidations))
      observe(n, { 'kura.revalidation.outcome': outcome });
  });
  counter(meter, METRICS.bypasses, (observe) => {
    for (const [reason, n] of Object.entries(c.bypasses)) observe(n, { 'kura.bypass.reason': reason });
  });
  counter(meter, METRICS.uploads, (observe) => {
    observe(c.writesCached, { 'kura.outcome': 'cached', 'kura.write.reason': 'none' });
    observe(c.partsStaged, { 'kura.outcome': 'staged', 'kura.write.reason': 'none' });
    for (const [reason, n] of Object.entries(c.writesNotCached)) {
      observe(n, { 'kura.outcome': 'not-cached', 'kura.write.reason': reason });
    }
  });
  counter(meter, METRICS.evictions, (observe) => observe(c.evictions));
  counter(meter, METRICS.evictedBytes, (observe) => observe(c.evictedBytes));
  counter(meter, METRICS.chunkWrites, (observe) => {
    observe(c.chunksWritten, { 'kura.outcome': 'written' });
    observe(c.chunksSkipped, { 'kura.outcome': 'skipped' });
    observe(s.refusedChunks(), { 'kura.outcome': 'refused' });
    observe(c.writeErrors, { 'kura.outcome': 'error' });
  });
  counter(meter, METRICS.stored, (observe) => {
    observe(c.bytesStoredRaw, { 'kura.encoding': 'raw' });
    observe(c.bytesStoredOnDisk, { 'kura.encoding': 'stored' });
  });
  counter(meter, METRICS.corrupt, (observe) => observe(c.corruptChunks));
  counter(meter, METRICS.corruptRecords, (observe) => observe(c.corruptRecords));
  counter(meter, METRICS.coalesced, (observe) => observe(c.coalesced));
  counter(meter, METRICS.invalidations, (observe) => observe(c.invalidations));
  counter(meter, METRICS.upstreamErrors, (observe) => {
    for (const [kind, n] of Object.entries(s.upstream.errors)) observe(n, { 'error.type': kind });
  });
  // One process: itself, never restarted. A worker group's primary puts its own numbers in their place
  // (src/telemetry/group.ts); pushed over OTLP by each worker, they add up to the group.
  counter(meter, METRICS.workerRestarts, (observe) => observe(0));
  counter(meter, METRICS.passthrough, (observe) => {
    for (const [listener, stats] of Object.entries(s.relays)) {
      if (stats === null) continue;
      observe(stats.relayed, { 'kura.listener': listener, 'kura.outcome': 'relayed' });
      const refused = Object.values(stats.refused).reduce((a, b) => a + b, 0);
      observe(refused, { 'kura.listener': listener, 'kura.outcome': 'refused' });
    }
  });
}

function observeGauges(meter: Meter, s: MetricSources): void {
  gauge(meter, METRICS.cacheSize, () => s.fleet.volumeBytes() ?? s.scannedBytes());
  gauge(meter, METRICS.cacheCapacity, () => s.capacity);
  gauge(meter, METRICS.ramSize, () => s.ramBytes());
  gauge(meter, METRICS.ramCapacity, () => s.ramCapacity);
  gauge(meter, METRICS.activeRequests, () => s.traffic.active);
  gauge(meter, METRICS.activeFetches, () => s.upstream.active);
  gauge(meter, METRICS.waitingFetches, () => s.upstream.waiting);
  gauge(meter, METRICS.leader, () => (s.fleet.isLeader() ? 1 : 0));
  gauge(meter, METRICS.workers, () => 1);
  const origins = METRICS.gatewayOrigins;
  meter
    .createObservableGauge(origins.name, {
      unit: origins.unit,
      description: origins.description,
      valueType: ValueType.INT,
    })
    .addCallback((result) => {
      for (const [origin, state] of s.gatewayOrigins?.() ?? [])
        result.observe(state, { 'kura.origin': origin });
    });
  // Asked on each collection, so that a scrape sees what a probe of /health/ready would.
  meter
    .createObservableGauge(METRICS.ready.name, {
      unit: METRICS.ready.unit,
      description: METRICS.ready.description,
      valueType: ValueType.INT,
    })
    .addCallback(async (result) => result.observe((await s.ready()) ? 1 : 0));
}
