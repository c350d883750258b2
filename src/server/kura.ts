// One Kura instance: its listeners, its upstream pools, its telemetry; started and stopped as a whole.

import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Cache } from '../cache/cache.js';
import { createRequestHandler } from '../cache/request-path.js';
import type { KuraConfig } from '../config/schema.js';
import { createGatewayHandler } from '../gateway/handler.js';
import { removeOwnTempFiles, scanDataBytes, volumeProblem } from '../store/volume-health.js';
import { type AccessLog, createAccessLog } from '../telemetry/access-log.js';
import { DashboardData } from '../telemetry/dashboard-data.js';
import { type FleetStatus, UNKNOWN_FLEET } from '../telemetry/fleet.js';
import { Readiness } from '../telemetry/health.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { KuraMetrics, type MetricSources } from '../telemetry/metrics.js';
import { TopKeys } from '../telemetry/top-keys.js';
import { TrafficStats } from '../telemetry/traffic.js';
import { UpstreamClient } from '../upstream/client.js';
import { namesToResolve, resolverProblem } from '../upstream/resolvable.js';
import { createAdminListener } from './admin-listener.js';
import { watchFleet } from './fleet-view.js';
import { createHttpListener, listen } from './http-listener.js';
import { type InstanceViews, instanceViews } from './instance-views.js';
import { createPassthrough, type Passthrough } from './passthrough.js';
import { ShutdownHooks } from './shutdown-hooks.js';
import { createTlsListener, readTlsFiles, type TlsListener } from './tls-listener.js';

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
  relays: { passthrough: Passthrough['stats'] | null; connect: TlsListener['stats'] | null };
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

/** How often an instance without the leader's accounting walks data/ to report the cache size. */
const SCAN_INTERVAL_MS = 5 * 60_000;

export async function startKura(config: KuraConfig, opts: StartOptions = {}): Promise<RunningKura> {
  const log = opts.log ?? createLogger(config.log.level);
  const access = opts.access ?? createAccessLog(config.log.access, { format: config.log.access_format });
  // Read before anything opens, so that a wrong path stops Kura with nothing to undo.
  const tlsFiles = config.server.tls_port === 0 ? null : readTlsFiles(config.server.tls);
  const cache = await Cache.open(config, log);
  const fleetView = opts.fleet ? null : watchFleet(cache, config.cache.leader_stale);
  const fleet: FleetStatus = opts.fleet ?? fleetView ?? UNKNOWN_FLEET;
  const upstream = new UpstreamClient(config.upstream, cache.volume.chunkSize, cache.cellPool);
  const traffic = new TrafficStats();
  const topKeys = new TopKeys();

  // Between two walks of data/, the size is the last walk plus what this instance stored since it began.
  let walked: { bytes: number; storedBefore: number } | null = null;
  const scanned = () =>
    walked === null ? null : walked.bytes + cache.stats.bytesStoredOnDisk - walked.storedBefore;
  let scanning = false;
  const scan = () => {
    if (scanning || fleet.volumeBytes() !== null) return;
    scanning = true;
    const storedBefore = cache.stats.bytesStoredOnDisk;
    scanDataBytes(cache.volume)
      .then((r) => {
        walked = { bytes: r.bytes, storedBefore };
      })
      .catch(() => {})
      .finally(() => {
        scanning = false;
      });
  };
  scan();
  const scanTimer = setInterval(scan, SCAN_INTERVAL_MS);
  scanTimer.unref();

  const relayDeps = { config, resolver: upstream.resolver, log };
  const passthroughRelay = config.server.https_port === 0 ? null : createPassthrough(relayDeps);
  const relays = {
    passthrough: passthroughRelay?.stats ?? null,
    connect: null as TlsListener['stats'] | null,
  };

  let draining = false;
  const upstreamNames = namesToResolve(config.upstream);
  const readiness = new Readiness([
    { name: 'shutdown', run: async () => (draining ? 'shutting down' : null) },
    { name: 'volume', run: () => volumeProblem(cache.volume) },
    { name: 'upstream-dns', run: () => resolverProblem(upstream.resolver, upstreamNames) },
  ]);
  const sources: MetricSources = {
    traffic,
    cache: cache.stats,
    upstream,
    relays,
    fleet,
    scannedBytes: scanned,
    ramBytes: () => cache.ram.bytes,
    capacity: config.cache.max_size,
    ramCapacity: config.cache.ram_size,
    ready: async () => (await readiness.report()).ready,
    refusedChunks: () => cache.fleet.space.refused,
    gatewayOrigins: () => gatewayHandler?.originStates() ?? [],
  };
  const otlp = config.telemetry.otlp;
  const metrics = new KuraMetrics(sources, {
    serviceVersion: KURA_VERSION,
    instanceId: cache.volume.instanceId,
    log,
    otlp:
      otlp.endpoint === null
        ? null
        : {
            endpoint: otlp.endpoint,
            headers: otlp.headers,
            intervalMs: otlp.interval,
            timeoutMs: otlp.timeout,
          },
  });
  const handler = createRequestHandler({
    config,
    cache,
    upstream,
    log,
    access,
    traffic,
    onEnd: (r) => {
      const result = r.cache ?? 'NONE';
      metrics.requestEnded(
        r.method,
        r.status,
        result as Parameters<KuraMetrics['requestEnded']>[2],
        r.ttfbMs ?? null,
        r.durationMs,
      );
      if (
        r.bucket &&
        r.key !== null &&
        r.key !== undefined &&
        (r.operation === 'GetObject' || r.operation === 'HeadObject')
      ) {
        topKeys.add(r.bucket, r.key, r.bytesOut, result === 'HIT' || result === 'REVALIDATED');
      }
    },
  });
  const server = createHttpListener(config.server, handler, log);
  const tlsListener = tlsFiles ? createTlsListener(tlsFiles, { ...relayDeps, handler }) : null;
  relays.connect = tlsListener?.stats ?? null;
  // Ports of their own (docs/gateway.md): gateway clients never meet the transparent listener's rules.
  const gatewayHandler =
    config.gateway.listen.length === 0
      ? null
      : createGatewayHandler({ config, cache, upstream, log, access, traffic });
  const gatewayServers = gatewayHandler
    ? config.gateway.listen.map(() => createHttpListener(config.server, gatewayHandler, log))
    : [];

  const views = instanceViews({
    cache,
    traffic,
    relays,
    metrics,
    readiness,
    topKeys,
    fleet,
    scanned,
  });
  // In a worker the admin port is the primary's (src/server/worker-group.ts): admin.port is 0 here.
  const dashboard =
    config.admin.port === 0
      ? null
      : new DashboardData(
          {
            read: views.dashboard,
            capacity: config.cache.max_size,
            ramCapacity: config.cache.ram_size,
            instance: {
              id: cache.volume.instanceId,
              version: KURA_VERSION,
              volume: cache.volume.dir,
              chunkSize: cache.volume.chunkSize,
              startedAt: new Date().toISOString(),
              workers: 1,
              host: hostname(),
              pid: process.pid,
            },
          },
          opts.dashboardSampleMs,
        );
  const adminServer =
    config.admin.port === 0
      ? null
      : createAdminListener({
          ready: views.ready,
          metricsText: () => metrics.prometheusText(),
          stats: views.stats,
          dashboard,
        });
  const host = config.server.http_host;
  let http: AddressInfo;
  let https: AddressInfo | null = null;
  let tls: AddressInfo | null = null;
  let admin: AddressInfo | null = null;
  const gateway: AddressInfo[] = [];
  const stopTelemetry = async (withinMs?: number) => {
    clearInterval(scanTimer);
    fleetView?.close();
    await dashboard?.close();
    await metrics.shutdown(withinMs);
  };
  try {
    http = await listen(server, host, config.server.http_port, 'the HTTP listener');
    if (passthroughRelay) {
      https = await listen(passthroughRelay.server, host, config.server.https_port, 'the HTTPS passthrough', {
        flag: '--https-port',
        env: 'KURA_HTTPS_PORT',
        field: 'server.https_port',
        example: '0 (off) or 8443',
      });
    }
    if (tlsListener) {
      tls = await listen(tlsListener.server, host, config.server.tls_port, 'the TLS listener', {
        env: 'KURA_TLS_PORT',
        field: 'server.tls_port',
        example: '8443',
      });
    }
    if (adminServer) {
      admin = await listen(adminServer, config.admin.host, config.admin.port, 'the admin listener');
    }
    for (const [i, g] of config.gateway.listen.entries()) {
      const where = `the gateway listener ${g.host}:${g.port}`;
      gateway.push(await listen(gatewayServers[i] as Server, g.host, g.port, where));
    }
  } catch (err) {
    server.close();
    for (const g of gatewayServers) g.close();
    passthroughRelay?.server.close();
    tlsListener?.server.close();
    await upstream.close();
    await stopTelemetry();
    await cache.close();
    throw err;
  }
  for (const warning of configWarnings(config)) log.warn(warning);

  const shutdownHooks = new ShutdownHooks(log);
  return {
    http,
    https,
    tls,
    relays,
    admin,
    gateway,
    cache,
    metrics,
    traffic,
    readiness,
    views,
    shutdownHooks,
    async reload() {
      await Promise.all([access.reopen?.(), cache.rules.reload()]);
    },
    abandon() {
      removeOwnTempFiles(cache.volume);
    },
    fleet: cache.fleet,
    async close(graceMs = 10_000) {
      draining = true;
      const deadline = Date.now() + graceMs;
      await Promise.all([
        drain(server, deadline),
        ...gatewayServers.map((g) => drain(g, deadline)),
        passthroughRelay?.close(graceMs),
        tlsListener?.close(graceMs),
      ]);
      // Chunk writes of finished answers run on after the response; let them land (they are bounded
      // by the write budget), then clear what aborted writes left in this instance's temp directory.
      await chunkWritesSettled(cache, Math.max(deadline, Date.now() + 5_000));
      removeOwnTempFiles(cache.volume);
      await shutdownHooks.run(Math.max(1_000, deadline - Date.now()));
      await upstream.close();
      // Flushes the journal and releases the leader lock: another instance takes over at once.
      await cache.close();
      // The last OTLP push gets a short bound: an unreachable collector must not hold up the stop.
      await stopTelemetry(Math.min(otlp.timeout, 2_000));
      await access.close();
      adminServer?.close();
      adminServer?.closeAllConnections();
    },
  };
}

/**
 * Stops accepting and waits for requests in flight until `deadline`, then cuts the connections left.
 * Keep-alive connections are closed as soon as they fall idle, so clients reconnect elsewhere.
 */
async function drain(server: Server, deadline: number): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  await stopped;
  clearInterval(idle);
  clearTimeout(cut);
}

async function chunkWritesSettled(cache: Cache, until: number): Promise<void> {
  while (cache.budget.used > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
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
