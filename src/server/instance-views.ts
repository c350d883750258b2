// What the admin listener shows of one process, as plain data: readiness, the meter's points, the /stats
// counters and the dashboard's inputs. A single process serves them itself; in a worker group each worker
// answers its primary with them and the primary adds them up (src/server/worker-group.ts).

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Cache } from '../cache/cache.js';
import type { DashboardInputs } from '../telemetry/dashboard-data.js';
import type { FleetStatus } from '../telemetry/fleet.js';
import type { Readiness, ReadinessReport } from '../telemetry/health.js';
import type { KuraMetrics } from '../telemetry/metrics.js';
import type { TopKeys } from '../telemetry/top-keys.js';
import type { TrafficStats } from '../telemetry/traffic.js';
import type { RelayStats } from './admin-listener.js';

export interface InstanceViews {
  ready(): Promise<ReadinessReport>;
  metrics(): Promise<ResourceMetrics>;
  stats(): Promise<Record<string, unknown>>;
  dashboard(): Promise<DashboardInputs>;
}

export interface ViewParts {
  cache: Cache;
  traffic: TrafficStats;
  relays: RelayStats;
  metrics: KuraMetrics;
  readiness: Readiness;
  topKeys: TopKeys;
  fleet: FleetStatus;
  /** Bytes of cached data as this instance last walked them; null before the first walk. */
  scanned(): number | null;
}

export function instanceViews(p: ViewParts): InstanceViews {
  const { cache, traffic } = p;
  return {
    ready: () => p.readiness.report(),
    metrics: () => p.metrics.collect(),
    stats: async () => ({
      cache: cache.stats.toJSON(),
      requests: traffic.toJSON(),
      ram: { bytes: cache.ram.bytes },
      volume: {
        dir: cache.volume.dir,
        chunkSize: cache.volume.chunkSize,
        instance: cache.volume.instanceId,
      },
      rules: cache.rules.rules.count,
      fleet: {
        leader: cache.fleet.isLeader,
        evictions: cache.fleet.evictions,
        journalEvents: cache.fleet.journal.eventsWritten,
        chunksRefusedFull: cache.fleet.space.refused - cache.fleet.space.refusedJoining,
        chunksRefusedDisk: cache.fleet.space.refusedDisk,
        chunksRefusedJoining: cache.fleet.space.refusedJoining,
        spacePendingBytes: cache.fleet.space.pendingBytes(),
      },
      passthrough: p.relays.passthrough?.toJSON() ?? null,
      connect: p.relays.connect?.toJSON() ?? null,
    }),
    dashboard: async () => ({
      requestCounts: [...traffic.requestCounts()],
      activeRequests: traffic.active,
      bytesFromCache: cache.stats.bytesFromRam + cache.stats.bytesFromDisk,
      bytesFromS3: cache.stats.bytesFromOrigin + traffic.passBytesFromS3,
      // Without the meter's points the dashboard shows its counters alone (null is part of its input).
      metrics: await p.metrics.collect().catch(() => null),
      topKeys: p.topKeys.top(10),
      cacheBytes: p.fleet.volumeBytes() ?? p.scanned(),
      ramBytes: cache.ram.bytes,
      fleet: {
        leader: p.fleet.isLeader(),
        instances: p.fleet.instances(),
        lastEviction: p.fleet.lastEviction(),
      },
    }),
  };
}
