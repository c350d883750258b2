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
import { type RunningKura, type StartOptions, startKura } from '../../src/server/kura.js';
import type { AccessRecord } from '../../src/telemetry/access-log.js';
import { createLogger } from '../../src/telemetry/log.js';

export const KURA_BIN = fileURLToPath(new URL('../../../bin/kura.js', import.meta.url));

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
  /** Counters of the passthrough and of CONNECT on the TLS listener. */
  relays: RunningKura['relays'];
  /** Steps run on close, after the last request. */
  shutdownHooks: RunningKura['shutdownHooks'];
  close(): Promise<void>;
}

/** Settings as `path: value`, like the YAML file flattened; `upstream.overrides` replaces the default. */
export async function startTestKura(
  opts: {
    origin?: string;
    settings?: Record<string, unknown>;
    start?: Pick<StartOptions, 'dashboardSampleMs' | 'fleet'>;
  } = {},
) {
  const ownDir = opts.settings?.['cache.dir'] === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'kura-volume-')) : String(opts.settings?.['cache.dir']);
  const raw: Record<string, unknown> = {
    'cache.dir': dir,
    'server.http_host': '127.0.0.1',
    'server.http_port': 0,
    'server.https_port': 0,
    'admin.port': 0,
    ...(opts.origin ? { 'upstream.overrides.*': opts.origin } : {}),
    ...opts.settings,
  };
  const settings: Setting[] = Object.entries(raw).map(([path, value]) => ({ path, value, source: 'test' }));
  const built = buildConfig({}, settings);
  if (!built.ok) throw new Error(`test config: ${JSON.stringify(built.problems)}`);
  const access: AccessRecord[] = [];
  let kura: RunningKura;
  try {
    kura = await startKura(built.config, {
      log: createLogger(process.env.KURA_TEST_LOG === 'debug' ? 'debug' : 'error'),
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
    relays: kura.relays,
    shutdownHooks: kura.shutdownHooks,
    close: async () => {
      await kura.close(1_000);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return result;
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
    const timer = setTimeout(() => reject(new Error(`kura did not start:\n${err}`)), 15_000);
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
