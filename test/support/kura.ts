// Kura for tests: in this process (fast, with its access log at hand), or as the real `kura` command in
// a child process (for exit codes, signals and memory measured apart from the test's own).

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cache } from '../../src/cache/cache.js';
import { buildConfig, type Setting } from '../../src/config/load.js';
import type { KuraConfig } from '../../src/config/schema.js';
import { type RunningKura, type StartOptions, startKura } from '../../src/server/kura.js';
import { type RunningGroup, startWorkerGroup } from '../../src/server/worker-group.js';
import type { AccessRecord } from '../../src/telemetry/access-log.js';
import { sumTree } from '../../src/telemetry/group.js';
import { createLogger, type Logger } from '../../src/telemetry/log.js';
import type { CacheCounters } from '../../src/telemetry/metrics.js';

export const KURA_BIN = fileURLToPath(new URL('../../../bin/kura.js', import.meta.url));
const TEST_WORKER = fileURLToPath(new URL('./kura-worker.js', import.meta.url));

/**
 * How many worker processes Kura runs in tests that do not choose: KURA_TEST_WORKERS, else 1 (the
 * single process). `npm run test:workers` runs the files that must pass with a worker group with 2.
 */
export function testWorkers(): number {
  const n = Number(process.env.KURA_TEST_WORKERS ?? 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`KURA_TEST_WORKERS=${process.env.KURA_TEST_WORKERS}`);
  return n;
}

export interface TestKura {
  url: string;
  port: number;
  /** Every access-log record, in the order requests ended. */
  access: AccessRecord[];
  /** The instance's cache: its counters, stores and volume. */
  cache: Cache;
  /** The volume directory (a fresh temporary one unless `cache.dir` was given; removed on close then). */
  dir: string;
  /** The admin listener's port, when `admin.port` was set. */
  adminPort: number | null;
  /** The :443 passthrough's port, when `server.https_port` was set. */
  httpsPort: number | null;
  /** The TLS listener's port, when `server.tls` was set. */
  tlsPort: number | null;
  /** The gateway listeners' ports, in the order of `gateway.listen`. */
  gatewayPorts: number[];
  /** Counters of the passthrough and of CONNECT on the TLS listener. */
  relays: RunningKura['relays'];
  /** Steps run on close, after the last request. */
  shutdownHooks: RunningKura['shutdownHooks'];
  /** The cache's counters now, summed over the workers when there are several. */
  cacheStats(): Promise<CacheCounters>;
  /** Empties the RAM tier (of every worker), so that the next hit reads the volume. */
  dropRam(): Promise<void>;
  /** The worker group, when the test runs more than one worker (`cache`, `access` and the rest are not there). */
  group: RunningGroup | null;
  close(): Promise<void>;
}

/** Settings as `path: value`, like the YAML file flattened; `upstream.overrides` replaces the default. */
export async function startTestKura(
  opts: {
    origin?: string;
    settings?: Record<string, unknown>;
    start?: Pick<StartOptions, 'dashboardSampleMs' | 'fleet'>;
    /** Worker processes; by default testWorkers(). More than 1 runs a worker group in child processes. */
    workers?: number;
  } = {},
): Promise<TestKura> {
  const ownDir = opts.settings?.['cache.dir'] === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'kura-volume-')) : String(opts.settings?.['cache.dir']);
  const raw: Record<string, unknown> = {
    'cache.dir': dir,
    'server.http_host': '127.0.0.1',
    'server.http_port': 0,
    'server.https_port': 0,
    'admin.port': 0,
    ...(opts.origin ? { 'upstream.overrides.*': opts.origin } : {}),
    // In process the access log is collected below; workers would write theirs to the test's stdout.
    'log.access': 'off',
    ...opts.settings,
  };
  const settings: Setting[] = Object.entries(raw).map(([path, value]) => ({ path, value, source: 'test' }));
  const built = buildConfig({}, settings);
  if (!built.ok) throw new Error(`test config: ${JSON.stringify(built.problems)}`);
  const log = createLogger(process.env.KURA_TEST_LOG === 'debug' ? 'debug' : 'error');
  const workers = opts.workers ?? testWorkers();
  if (workers > 1)
    return startTestGroup(built.config, workers, dir, ownDir, log, opts.start?.dashboardSampleMs);
  const access: AccessRecord[] = [];
  let kura: RunningKura;
  try {
    kura = await startKura(built.config, {
      log,
      access: { write: (r) => access.push(r), close: async () => {} },
      ...opts.start,
    });
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const result: TestKura = {
    url: `http://127.0.0.1:${kura.http.port}`,
    port: kura.http.port,
    access,
    cache: kura.cache,
    dir,
    adminPort: kura.admin?.port ?? null,
    httpsPort: kura.https?.port ?? null,
    tlsPort: kura.tls?.port ?? null,
    gatewayPorts: kura.gateway.map((g) => g.port),
    relays: kura.relays,
    shutdownHooks: kura.shutdownHooks,
    cacheStats: async () => ({ ...kura.cache.stats }),
    dropRam: async () => kura.cache.ram.deletePrefix(''),
    group: null,
    close: async () => {
      await kura.close(1_000);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return result;
}

/** A worker group in child processes, run from this process as its primary. */
async function startTestGroup(
  config: KuraConfig,
  workers: number,
  dir: string,
  ownDir: boolean,
  log: Logger,
  dashboardSampleMs: number | undefined,
): Promise<TestKura> {
  let group: RunningGroup;
  try {
    group = await startWorkerGroup(config, workers, {
      log,
      workerEntry: TEST_WORKER,
      ...(dashboardSampleMs ? { dashboardSampleMs } : {}),
    });
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const absent = (what: string) => () => {
    throw new Error(`${what} lives in the worker processes: use cacheStats(), dropRam() or the admin port`);
  };
  const result = {
    url: `http://127.0.0.1:${group.http.port}`,
    port: group.http.port,
    access: [],
    dir,
    adminPort: group.admin?.port ?? null,
    httpsPort: group.https?.port ?? null,
    tlsPort: group.tls?.port ?? null,
    gatewayPorts: group.gateway.map((g) => g.port),
    group,
    async cacheStats() {
      const parts = await group.ask<CacheCounters>('test:cache-stats');
      return parts.map((p) => p.value).reduce<unknown>((a, b) => sumTree(a, b), null) as CacheCounters;
    },
    async dropRam() {
      await group.ask('test:drop-ram');
    },
    async close() {
      await group.close(1_000);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const what of ['cache', 'relays', 'shutdownHooks'] as const) {
    Object.defineProperty(result, what, { get: absent(what) });
  }
  return result as unknown as TestKura;
}

/**
 * A loopback port free a moment ago, for listeners whose port 0 means "off" rather than "any" (the
 * passthrough, the TLS listener). Another process could take it in between; on loopback in a test run
 * that is rare enough.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export interface KuraProcess {
  child: ChildProcess;
  url: string;
  port: number;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs `kura serve` with the given flags on an ephemeral loopback port; resolves once it listens.
 * `wrap` runs it under another command (e.g. `unshare -m …`), which must exec its last arguments.
 */
export async function spawnKura(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  wrap: string[] = [],
): Promise<KuraProcess> {
  const ownDir = !args.includes('--cache-dir') && env.KURA_CACHE_DIR === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'kura-volume-')) : null;
  const command = [
    process.execPath,
    KURA_BIN,
    'serve',
    '--http-host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--https-port',
    '0',
    '--admin-port',
    '0',
    ...(dir ? ['--cache-dir', dir] : []),
    // One process unless the test or KURA_TEST_WORKERS asks for a worker group.
    ...(args.includes('--workers') || env.KURA_WORKERS !== undefined
      ? []
      : ['--workers', String(testWorkers())]),
    ...args,
  ];
  const [file, ...rest] = [...wrap, ...command] as [string, ...string[]];
  const child = spawn(file, rest, {
    env: { ...process.env, KURA_LOG_ACCESS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stdout?.resume();
  const port = await new Promise<number>((resolve, reject) => {
    // A Kura that is late is killed, not left running: the test file would otherwise never end.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
      reject(new Error(`kura did not start within 15 s:\n${err}`));
    }, 15_000);
    child.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const m = /"http":"http:\/\/[^"]*:(\d+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kura exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    stderr: () => err,
    async stop() {
      let code = child.exitCode;
      if (code === null && child.signalCode === null) {
        child.kill('SIGTERM');
        [code] = (await once(child, 'exit')) as [number | null];
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
