// `kura serve` with server.workers > 1: a primary process that forks the workers (src/server/worker.ts)
// and shares the listening ports out to them with node:cluster, round-robin (docs/operations.md, Worker
// processes, says why). The primary serves no S3 request itself: it runs the admin listener and answers
// it from what every worker reports over IPC, restarts a worker that dies (backing off when one keeps
// dying young), and passes stop and reload orders on.

import cluster, { type Worker } from 'node:cluster';
import { type AddressInfo, createServer, isIP } from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { KuraConfig } from '../config/schema.js';
import { defaultInstanceId } from '../store/volume.js';
import { DashboardData, type DashboardInputs } from '../telemetry/dashboard-data.js';
import {
  groupDashboard,
  groupMetrics,
  groupReadiness,
  groupStats,
  retire,
  type WorkerPart,
} from '../telemetry/group.js';
import type { ReadinessReport } from '../telemetry/health.js';
import type { Logger } from '../telemetry/log.js';
import { prometheusText } from '../telemetry/metrics.js';
import { createAdminListener } from './admin-listener.js';
import { listen } from './http-listener.js';
import { KURA_VERSION } from './kura.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

export interface GroupOptions {
  log: Logger;
  /** The script each worker runs; by default src/server/worker-entry.ts. */
  workerEntry?: string;
  /** How often the dashboard samples its history; tests shorten it. */
  dashboardSampleMs?: number;
}

export interface RunningGroup {
  http: AddressInfo;
  https: AddressInfo | null;
  tls: AddressInfo | null;
  admin: AddressInfo | null;
  /** The gateway listeners every worker serves, ports as chosen by the primary. */
  gateway: AddressInfo[];
  volume: { dir: string; chunkSize: number; instances: string[] };
  /** One view of every worker serving now (null where a worker did not answer in time). */
  ask<T>(view: string): Promise<WorkerPart<T | null>[]>;
  /** SIGHUP: every worker reopens its access log and reads the rules file again. */
  reload(): void;
  /** A second signal: every worker removes its unfinished temp files and exits at once. */
  abandon(): Promise<void>;
  /** Every worker drains for up to `graceMs` and exits; then the admin listener closes. */
  close(graceMs: number): Promise<void>;
}

/** A worker that dies younger than this counts as crashing; the next start waits longer each time. */
const YOUNG_MS = 10_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** How long the admin listener waits for a worker's answer. */
const ASK_TIMEOUT_MS = 5_000;
/** After the grace period, time for the workers' shutdown steps (journal, leader lock) before SIGKILL. */
const EXIT_MARGIN_MS = 10_000;

interface Slot {
  worker: number;
  process: Worker | null;
  pid: number;
  startedAt: number;
  youngDeaths: number;
  listening: Extract<FromWorker, { kind: 'listening' }> | null;
  lastMetrics: ScopeMetrics[] | null;
  restartTimer: NodeJS.Timeout | null;
}

async function freePort(host: string): Promise<number> {
  const probe = createServer();
  const address = await listen(probe, host, 0, 'the HTTP listener');
  await new Promise((resolve) => probe.close(resolve));
  return address.port;
}

/** `server.workers` as a number: `auto` is the machine's available parallelism. */
export function workerCount(config: KuraConfig, available: number): number {
  return config.server.workers === 'auto' ? Math.max(1, available) : config.server.workers;
}

export async function startWorkerGroup(
  config: KuraConfig,
  count: number,
  opts: GroupOptions,
): Promise<RunningGroup> {
  const { log } = opts;
  // The primary accepts and hands connections out in turn: even spread, where leaving accept() to the
  // kernel on one shared socket piles connections onto a few workers (docs/operations.md).
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({
    exec: opts.workerEntry ?? fileURLToPath(new URL('./worker-entry.js', import.meta.url)),
    args: [],
    // Structured clone keeps what JSON would not (Infinity in a histogram's min and max).
    serialization: 'advanced',
  });
  const share = Math.floor(config.cache.ram_size / count);
  const workerConfig: KuraConfig = {
    ...config,
    // node:cluster shares one socket per address, port and order of listening: port 0 in two groups of
    // one process (tests) would be the same socket. A free port, chosen once here, keeps them apart.
    server: {
      ...config.server,
      workers: 1,
      http_port:
        config.server.http_port === 0 ? await freePort(config.server.http_host) : config.server.http_port,
    },
    admin: { ...config.admin, port: 0 },
    cache: { ...config.cache, ram_size: share },
    // The same for the gateway's listeners: every worker listens on the port chosen here.
    gateway: {
      ...config.gateway,
      listen: await Promise.all(
        config.gateway.listen.map(async (l) => ({
          host: l.host,
          port: l.port === 0 ? await freePort(l.host) : l.port,
        })),
      ),
    },
  };
  if (share > 0 && share < 10 * config.cache.chunk_size) {
    log.warn(
      `each of ${count} workers gets ${share} bytes of cache.ram_size; chunks larger than a tenth of that are not kept in RAM: raise cache.ram_size`,
    );
  }

  const slots: Slot[] = Array.from({ length: count }, (_, i) => ({
    worker: i + 1,
    process: null,
    pid: 0,
    startedAt: 0,
    youngDeaths: 0,
    listening: null,
    lastMetrics: null,
    restartTimer: null,
  }));
  let retired: ScopeMetrics[] = [];
  let restarts = 0;
  let started = false;
  let stopping = false;
  let nextId = 1;
  const pending = new Map<number, { slot: Slot; resolve: (v: unknown) => void }>();
  const exited = new Set<Promise<void>>();
  let startFailed: (err: Error) => void = () => {};
  let oneListening: () => void = () => {};

  const fork = (slot: Slot) => {
    slot.restartTimer = null;
    const w = cluster.fork({ KURA_WORKER: String(slot.worker) });
    slot.process = w;
    slot.pid = w.process.pid ?? 0;
    slot.startedAt = Date.now();
    slot.listening = null;
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'hello') {
        w.send({ kind: 'start', worker: slot.worker, config: workerConfig } satisfies ToWorker);
      } else if (m.kind === 'listening') {
        slot.listening = m;
        if (started)
          log.info('worker started', { worker: slot.worker, pid: slot.pid, instance: m.volume.instance });
        oneListening();
      } else if (m.kind === 'failed') {
        log.error('worker could not start', { worker: slot.worker, pid: slot.pid, error: m.error });
        if (!started) startFailed(new Error(m.error));
      } else if (m.kind === 'hit-auth' || m.kind === 'record') {
        for (const other of slots) {
          if (other !== slot && other.listening !== null) other.process?.send(m satisfies ToWorker);
        }
      } else if (m.kind === 'answer') {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.resolve(m.error === undefined ? m.value : null);
      }
    });
    const exit = new Promise<void>((resolve) => {
      w.once('exit', (code, signal) => {
        resolve();
        onExit(slot, w, code, signal);
      });
    });
    exited.add(exit);
    void exit.then(() => exited.delete(exit));
  };

  const onExit = (slot: Slot, w: Worker, code: number | null, signal: string | null) => {
    if (slot.process !== w) return;
    slot.process = null;
    slot.listening = null;
    for (const [id, p] of pending) {
      if (p.slot !== slot) continue;
      pending.delete(id);
      p.resolve(null);
    }
    if (slot.lastMetrics) retired = retire(retired, slot.lastMetrics);
    slot.lastMetrics = null;
    if (stopping) return;
    if (!started) {
      startFailed(new Error(`worker ${slot.worker} exited with ${signal ?? code} before listening`));
      return;
    }
    const young = Date.now() - slot.startedAt < YOUNG_MS;
    slot.youngDeaths = young ? slot.youngDeaths + 1 : 0;
    const delay = young ? Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (slot.youngDeaths - 1)) : 0;
    log.error('worker died; starting another', {
      worker: slot.worker,
      pid: slot.pid,
      code,
      signal,
      restartInMs: delay,
    });
    slot.restartTimer = setTimeout(() => {
      restarts += 1;
      fork(slot);
    }, delay);
  };

  const ask = async <T>(view: string): Promise<WorkerPart<T | null>[]> =>
    Promise.all(
      slots
        .filter((s) => s.process !== null && s.listening !== null)
        .map(async (slot) => {
          const id = nextId++;
          const value = await new Promise<unknown>((resolve) => {
            const timer = setTimeout(() => {
              pending.delete(id);
              resolve(null);
            }, ASK_TIMEOUT_MS);
            pending.set(id, {
              slot,
              resolve: (v) => {
                clearTimeout(timer);
                resolve(v);
              },
            });
            slot.process?.send({ kind: 'ask', id, view } satisfies ToWorker);
          });
          // Kept for the sums once this worker is gone: from each scrape, and from the dashboard's samples.
          if (view === 'metrics' && value !== null)
            slot.lastMetrics = (value as ResourceMetrics).scopeMetrics;
          if (view === 'dashboard' && value !== null) {
            slot.lastMetrics = (value as DashboardInputs).metrics?.scopeMetrics ?? slot.lastMetrics;
          }
          return { worker: slot.worker, pid: slot.pid, value: value as T | null };
        }),
    );
  const answered = <T>(parts: WorkerPart<T | null>[]) =>
    parts.filter((p) => p.value !== null) as WorkerPart<T>[];

  const groupId = `${hostname()}-${process.pid}`;
  const resource = resourceFromAttributes({
    'service.name': 'kura',
    'service.version': KURA_VERSION,
    'service.instance.id': groupId,
  });
  const running = () => slots.filter((s) => s.listening !== null).length;
  const dashboard =
    config.admin.port === 0
      ? null
      : new DashboardData(
          {
            read: async () => groupDashboard(answered(await ask<DashboardInputs>('dashboard'))),
            capacity: config.cache.max_size,
            ramCapacity: config.cache.ram_size,
            instance: {
              // Like a volume instance id, new at every start: the fleet's dashboards tell the group by it.
              id: defaultInstanceId(),
              version: KURA_VERSION,
              volume: config.cache.dir,
              chunkSize: config.cache.chunk_size,
              startedAt: new Date().toISOString(),
              workers: count,
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
          ready: async () =>
            groupReadiness(await ask<ReadinessReport>('ready'), count, stopping) as ReadinessReport,
          metricsText: async () =>
            prometheusText(
              groupMetrics(resource, answered(await ask<ResourceMetrics>('metrics')), retired, {
                running: running(),
                restarts,
              }),
            ),
          stats: async () => ({
            ...groupStats(answered(await ask<Record<string, unknown>>('stats'))),
            group: { workers: count, running: running(), restarts },
          }),
          dashboard,
        });

  const tell = (message: ToWorker) => {
    for (const s of slots) {
      if (s.process === null) continue;
      // A worker still starting has no handler yet: a signal stops it (its default action, or its handler).
      if (s.listening === null && message.kind !== 'reload') s.process.process.kill('SIGTERM');
      else s.process.send(message);
    }
  };
  const allExited = async (withinMs: number) => {
    const timer = setTimeout(() => {
      for (const s of slots) s.process?.process.kill('SIGKILL');
    }, withinMs);
    while (slots.some((s) => s.process !== null)) await Promise.race([...exited]);
    clearTimeout(timer);
  };
  const shutDown = async () => {
    stopping = true;
    for (const s of slots) if (s.restartTimer) clearTimeout(s.restartTimer);
    await dashboard?.close();
    adminServer?.close();
    adminServer?.closeAllConnections();
  };

  let admin: AddressInfo | null = null;
  try {
    if (adminServer)
      admin = await listen(adminServer, config.admin.host, config.admin.port, 'the admin listener');
    await new Promise<void>((resolve, reject) => {
      startFailed = reject;
      oneListening = () => {
        if (slots.every((s) => s.listening !== null)) resolve();
      };
      for (const slot of slots) fork(slot);
    });
  } catch (err) {
    stopping = true;
    tell({ kind: 'now' });
    await allExited(5_000);
    await shutDown();
    throw err;
  }
  started = true;
  const first = slots[0]?.listening as Extract<FromWorker, { kind: 'listening' }>;
  return {
    http: first.http,
    https: first.https,
    tls: first.tls,
    admin,
    gateway: workerConfig.gateway.listen.map((l) => ({
      address: l.host,
      port: l.port,
      family: isIP(l.host) === 6 ? 'IPv6' : 'IPv4',
    })),
    volume: {
      dir: first.volume.dir,
      chunkSize: first.volume.chunkSize,
      instances: slots.map((s) => s.listening?.volume.instance ?? ''),
    },
    ask,
    reload: () => tell({ kind: 'reload' }),
    async abandon() {
      stopping = true;
      tell({ kind: 'now' });
      await allExited(2_000);
    },
    async close(graceMs) {
      stopping = true;
      for (const s of slots) if (s.restartTimer) clearTimeout(s.restartTimer);
      tell({ kind: 'stop', graceMs });
      await allExited(graceMs + EXIT_MARGIN_MS);
      await shutDown();
    },
  };
}
