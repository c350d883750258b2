// What an instance counts and reports of itself: readiness, the meter (Prometheus and OTLP), the
// request counters and the most read keys. Its sources are read when a report is made, not before.

import type { Cache } from '../cache/cache.js';
import type { KuraConfig } from '../config/schema.js';
import { volumeProblem } from '../store/volume-health.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { Readiness } from '../telemetry/health.js';
import type { Logger } from '../telemetry/log.js';
import { KuraMetrics } from '../telemetry/metrics.js';
import { TopKeys } from '../telemetry/top-keys.js';
import { TrafficStats } from '../telemetry/traffic.js';
import type { UpstreamClient } from '../upstream/client.js';
import { namesToResolve, resolverProblem } from '../upstream/resolvable.js';
import type { RelayStats } from './admin-listener.js';
import type { VolumeWatch } from './volume-watch.js';

/** Operations that read one object, S3's and the gateway's: they count in the dashboard's top keys. */
const OBJECT_READS: ReadonlySet<string> = new Set(['GetObject', 'HeadObject', 'GatewayGet', 'GatewayHead']);

export interface TelemetryDeps {
  config: KuraConfig;
  cache: Cache;
  upstream: UpstreamClient;
  volume: VolumeWatch;
  /** Filled in by the listeners as they are made (listeners.ts). */
  relays: RelayStats;
  /** The states of the gateway's origins; none until the gateway exists. */
  gatewayOrigins(): [origin: string, state: number][];
  log: Logger;
  version: string;
}

export interface InstanceTelemetry {
  traffic: TrafficStats;
  readiness: Readiness;
  metrics: KuraMetrics;
  topKeys: TopKeys;
  /** Counts one finished request, after its access-log line (metrics, top keys). */
  requestEnded(r: AccessRecord): void;
  /** From now on /health/ready answers "shutting down". */
  drain(): void;
  /** Pushes the last metrics over OTLP, bounded by `withinMs` (metrics.ts). */
  close(withinMs?: number): Promise<void>;
}

export async function startTelemetry(d: TelemetryDeps): Promise<InstanceTelemetry> {
  const { config, cache, upstream } = d;
  const traffic = new TrafficStats();
  const topKeys = new TopKeys();
  let draining = false;
  const upstreamNames = namesToResolve(config.upstream);
  const readiness = new Readiness([
    { name: 'shutdown', run: async () => (draining ? 'shutting down' : null) },
    { name: 'volume', run: () => volumeProblem(cache.volume) },
    { name: 'upstream-dns', run: () => resolverProblem(upstream.resolver, upstreamNames) },
  ]);
  const otlp = config.telemetry.otlp;
  const metrics = await KuraMetrics.create(
    {
      traffic,
      cache: cache.stats,
      upstream,
      relays: d.relays,
      fleet: d.volume.fleet,
      scannedBytes: d.volume.scanned,
      ramBytes: () => cache.ram.bytes,
      capacity: config.cache.max_size,
      ramCapacity: config.cache.ram_size,
      ready: async () => (await readiness.report()).ready,
      refusedChunks: () => cache.fleet.space.refused,
      gatewayOrigins: d.gatewayOrigins,
    },
    {
      serviceVersion: d.version,
      instanceId: cache.volume.instanceId,
      log: d.log,
      otlp:
        otlp.endpoint === null
          ? null
          : {
              endpoint: otlp.endpoint,
              headers: otlp.headers,
              intervalMs: otlp.interval,
              timeoutMs: otlp.timeout,
            },
    },
  );
  return {
    traffic,
    readiness,
    metrics,
    topKeys,
    requestEnded(r) {
      const result = r.cache ?? 'NONE';
      metrics.requestEnded(
        r.method,
        r.status,
        result as Parameters<KuraMetrics['requestEnded']>[2],
        r.ttfbMs ?? null,
        r.durationMs,
      );
      if (r.bucket && r.key !== null && r.key !== undefined && OBJECT_READS.has(r.operation)) {
        topKeys.add(r.bucket, r.key, r.bytesOut, result === 'HIT' || result === 'REVALIDATED');
      }
    },
    drain() {
      draining = true;
    },
    close: (withinMs) => metrics.shutdown(withinMs),
  };
}
