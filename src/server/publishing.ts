// What an instance publishes of itself: the views of its state (instance-views.ts), the dashboard's
// samples (also written to the volume for the fleet's page) and the admin listener that serves them.
// In a worker the admin port is the primary's (worker-group.ts): admin.port is 0 there and none of this
// but the views is made.

import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Cache } from '../cache/cache.js';
import type { KuraConfig } from '../config/schema.js';
import { DashboardData } from '../telemetry/dashboard-data.js';
import type { RelayStats } from './admin-listener.js';
import { createAdminListener } from './admin-listener.js';
import { listen } from './http-listener.js';
import type { InstanceTelemetry } from './instance-telemetry.js';
import { type InstanceViews, instanceViews } from './instance-views.js';
import type { VolumeWatch } from './volume-watch.js';

export interface PublishingDeps {
  config: KuraConfig;
  cache: Cache;
  telemetry: InstanceTelemetry;
  volume: VolumeWatch;
  relays: RelayStats;
  version: string;
  /** How often the dashboard samples its history. */
  dashboardSampleMs?: number;
}

export interface Publishing {
  views: InstanceViews;
  /** Opens the admin port; null when admin.port is 0. */
  listen(): Promise<AddressInfo | null>;
  /** Stops sampling, takes this instance off the fleet's page and closes the admin listener. */
  close(): Promise<void>;
}

export function startPublishing(d: PublishingDeps): Publishing {
  const { config, cache, telemetry } = d;
  const views = instanceViews({
    cache,
    traffic: telemetry.traffic,
    relays: d.relays,
    metrics: telemetry.metrics,
    readiness: telemetry.readiness,
    topKeys: telemetry.topKeys,
    fleet: d.volume.fleet,
    scanned: d.volume.scanned,
  });
  if (config.admin.port === 0) {
    return { views, listen: async () => null, close: async () => {} };
  }
  const dashboard = new DashboardData(
    {
      read: views.dashboard,
      capacity: config.cache.max_size,
      ramCapacity: config.cache.ram_size,
      instance: {
        id: cache.volume.instanceId,
        version: d.version,
        volume: cache.volume.dir,
        chunkSize: cache.volume.chunkSize,
        startedAt: new Date().toISOString(),
        workers: 1,
        host: hostname(),
        pid: process.pid,
      },
    },
    d.dashboardSampleMs,
  );
  const server = createAdminListener({
    ready: views.ready,
    metricsText: () => telemetry.metrics.prometheusText(),
    stats: views.stats,
    dashboard,
  });
  return {
    views,
    listen: () => listen(server, config.admin.host, config.admin.port, 'the admin listener'),
    async close() {
      await dashboard.close();
      server.close();
      server.closeAllConnections();
    },
  };
}
