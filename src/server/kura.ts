// One Kura instance, started and stopped as a whole. It is made of parts, each with its own close():
//   volume-watch.ts        the fleet's status files and the walk of data/ (the cache size)
//   instance-telemetry.ts  readiness, the meter, the request counters and top keys
//   listeners.ts           the ports clients use and the handlers behind them
//   publishing.ts          the views, the dashboard and the admin listener
// with the cache (the volume) and the upstream pools between them. docs/architecture.md#an-instance.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Cache } from '../cache/cache.js';
import type { KuraConfig } from '../config/schema.js';
import { removeOwnTempFiles } from '../store/volume-health.js';
import { type AccessLog, createAccessLog } from '../telemetry/access-log.js';
import type { FleetStatus } from '../telemetry/fleet.js';
import type { Readiness } from '../telemetry/health.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import type { KuraMetrics } from '../telemetry/metrics.js';
import type { TrafficStats } from '../telemetry/traffic.js';
import { UpstreamClient } from '../upstream/client.js';
import type { RelayStats } from './admin-listener.js';
import { startTelemetry } from './instance-telemetry.js';
import type { InstanceViews } from './instance-views.js';
import { type Addresses, createListeners } from './listeners.js';
import { startPublishing } from './publishing.js';
import { ShutdownHooks } from './shutdown-hooks.js';
import { readTlsFiles } from './tls-listener.js';
import { watchVolume } from './volume-watch.js';

export const KURA_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface RunningKura {
  http: AddressInfo;
  /** The :443 passthrough; null when server.https_port is 0. */
  https: AddressInfo | null;
  /** The TLS listener; null unless server.tls.cert and server.tls.key are set (and tls_port is not 0). */
  tls: AddressInfo | null;
  /** Counters of the passthrough and of CONNECT tunnels on the TLS listener (null where off). */
  relays: RelayStats;
  /** null when admin.port is 0. */
  admin: AddressInfo | null;
  /** The gateway listeners, in the order of gateway.listen (none when it is empty). */
  gateway: AddressInfo[];
  cache: Cache;
  /** Leader state, evictions and leases of this instance's part in the fleet (same as cache.fleet). */
  fleet: Cache['fleet'];
  metrics: KuraMetrics;
  traffic: TrafficStats;
  readiness: Readiness;
  /** What the admin listener shows of this process, as plain data. */
  views: InstanceViews;
  /** Work to finish on shutdown after the last request (flush the journal, release the leader lock). */
  shutdownHooks: ShutdownHooks;
  /** SIGHUP: reopen the access log file and read the cache rules file again. */
  reload(): Promise<void>;
  /**
   * The last thing before an immediate exit (a second signal): removes this instance's unfinished temp
   * files, so that nothing half-written stays on the volume.
   */
  abandon(): void;
  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs`, cuts what is left, runs the
   * shutdown hooks, pushes the last metrics and writes the last log lines.
   */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  access?: AccessLog;
  /** What this instance shows of the others on its volume; by default read from the volume (fleet-view.ts). */
  fleet?: FleetStatus;
  /** How often the dashboard samples its history; tests shorten it. */
  dashboardSampleMs?: number;
}

export async function startKura(config: KuraConfig, opts: StartOptions = {}): Promise<RunningKura> {
  const log = opts.log ?? createLogger(config.log.level);
  const access = opts.access ?? createAccessLog(config.log.access, { format: config.log.access_format });
  // Read before anything opens, so that a wrong path stops Kura with nothing to undo.
  const tlsFiles = config.server.tls_port === 0 ? null : readTlsFiles(config.server.tls);
  const cache = await Cache.open(config, log);
  const volume = watchVolume(cache, config.cache.leader_stale, opts.fleet);
  const upstream = new UpstreamClient(config.upstream, cache.volume.chunkSize, cache.cellPool);
  const relays: RelayStats = { passthrough: null, connect: null };
  // The meter reads the gateway's origins only when it reports, by which time the listeners exist.
  const gatewayOrigins = () => listeners.gatewayOrigins();
  const telemetry = await startTelemetry({
    config,
    cache,
    upstream,
    volume,
    relays,
    gatewayOrigins,
    log,
    version: KURA_VERSION,
  });
  const listeners = createListeners({
    config,
    cache,
    upstream,
    log,
    access,
    traffic: telemetry.traffic,
    tlsFiles,
    relays,
    requestEnded: telemetry.requestEnded,
  });
  const publishing = startPublishing({
    config,
    cache,
    telemetry,
    volume,
    relays,
    version: KURA_VERSION,
    dashboardSampleMs: opts.dashboardSampleMs,
  });

  let addresses: Addresses;
  let admin: AddressInfo | null;
  try {
    addresses = await listeners.listen();
    admin = await publishing.listen();
  } catch (err) {
    // Nothing is in flight yet: close what was made, the last made first.
    await publishing.close();
    listeners.close();
    await telemetry.close();
    await upstream.close();
    volume.close();
    await cache.close();
    throw err;
  }
  for (const warning of configWarnings(config)) log.warn(warning);

  const shutdownHooks = new ShutdownHooks(log);
  return {
    ...addresses,
    relays,
    admin,
    cache,
    metrics: telemetry.metrics,
    traffic: telemetry.traffic,
    readiness: telemetry.readiness,
    views: publishing.views,
    shutdownHooks,
    async reload() {
      await Promise.all([access.reopen?.(), cache.rules.reload()]);
    },
    abandon() {
      removeOwnTempFiles(cache.volume);
    },
    fleet: cache.fleet,
    // The order is that of a request's life backwards: clients first, then what served them, then the
    // volume, and what reports on all of them last, so that the last metrics and log lines are complete.
    async close(graceMs = 10_000) {
      telemetry.drain();
      const deadline = Date.now() + graceMs;
      await listeners.drain(deadline, graceMs);
      // Chunk writes of finished answers run on after the response, and their records after them; let
      // them land (the chunks are bounded by the write budget), then clear what aborted writes left in
      // this instance's temp directory: a record write still under way would lose its file.
      await writesSettled(cache, Math.max(deadline, Date.now() + 5_000));
      removeOwnTempFiles(cache.volume);
      await shutdownHooks.run(Math.max(1_000, deadline - Date.now()));
      await upstream.close();
      // Flushes the journal and releases the leader lock: another instance takes over at once.
      await cache.close();
      volume.close();
      await publishing.close();
      // The last OTLP push gets a short bound: an unreachable collector must not hold up the stop.
      await telemetry.close(Math.min(config.telemetry.otlp.timeout, 2_000));
      await access.close();
    },
  };
}

async function writesSettled(cache: Cache, until: number): Promise<void> {
  while ((cache.budget.used > 0 || cache.records.updating > 0) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

function configWarnings(config: KuraConfig): string[] {
  const { gateway } = config;
  const idle =
    gateway.routes.length > 0 && gateway.listen.length === 0
      ? ['gateway.routes are set but gateway.listen is empty: no gateway listener serves them']
      : [];
  return idle.concat(
    Object.entries(config.upstream.overrides)
      .filter(([, o]) => !o.tls_verify)
      .map(
        ([host, o]) =>
          `upstream.overrides.${host}: TLS certificates of ${o.url} are NOT verified (tls_verify: false)`,
      ),
  );
}
