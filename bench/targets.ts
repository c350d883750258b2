// The processes a run compares, each started on loopback and stopped at the end: the verifying origin,
// the Node ceiling, nginx, and Kura as the real `kura serve` command.

import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, KURA_BIN } from '../test/support/kura.js';
import type { MemoryOriginOptions } from '../test/support/memory-origin.js';
import type { ObjectSpec } from './data.js';
import type { OriginRequest, OriginStats } from './origin-process.js';
import { cpuOfTree } from './proc.js';

/** A server the workloads send requests to. */
export interface Target {
  url: string;
  /**
   * Set for a gateway listener: objects are read with plain GETs of `{gatewayPrefix}{key}` (Kura holds the
   * credentials), not with presigned S3 URLs.
   */
  gatewayPrefix?: string;
  pid: number;
  /** CPU seconds of the server process (and its workers) so far. */
  cpu(): number;
  stop(): Promise<void>;
}

export interface Origin extends Target {
  put(key: string, size: number): Promise<void>;
  putFile(key: string, path: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Requests and body bytes since the last call. */
  stats(): Promise<OriginStats>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startOrigin(opts: MemoryOriginOptions = {}): Promise<Origin> {
  const child = fork(here('./origin-process.js'), [JSON.stringify(opts)], {
    execArgv: ['--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ url: string }];
  let next = 0;
  const waiting = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  child.on('message', (msg: { id?: number; result?: unknown }) => {
    if (msg.id === undefined) return;
    waiting.get(msg.id)?.resolve(msg.result);
    waiting.delete(msg.id);
  });
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`the origin process exited with ${code}`));
    waiting.clear();
  });
  const call = <T>(cmd: OriginRequest): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: (r) => resolve(r as T), reject });
      child.send({ ...cmd, id });
    });
  const pid = child.pid as number;
  return {
    url: ready.url,
    pid,
    cpu: () => cpuOfTree(pid),
    put: (key, size) => call({ type: 'put', key, size }),
    putFile: (key, path) => call({ type: 'put-file', key, path }),
    delete: (key) => call({ type: 'delete', key }),
    stats: () => call({ type: 'stats' }),
    stop: async () => {
      child.disconnect();
      await stopChild(child);
    },
  };
}

async function firstLine(child: ChildProcess, what: string): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it listened`)));
  });
}

/** The trivial Node server holding `objects` in memory (bench/ceiling-server.ts), in `workers` processes. */
export async function startCeiling(objects: ObjectSpec[], workers = 1): Promise<Target> {
  const args = [here('./ceiling-server.js'), JSON.stringify(objects), String(workers)];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = Number(await firstLine(child, 'the ceiling server'));
  const pid = child.pid as number;
  return { url: `http://127.0.0.1:${port}`, pid, cpu: () => cpuOfTree(pid), stop: () => stopChild(child) };
}

/** nginx with proxy_cache in front of `origin`, by scripts/bench-nginx.sh, under a temporary prefix. */
export async function startNginx(origin: string): Promise<Target> {
  const prefix = await mkdtemp(join(tmpdir(), 'kura-bench-nginx-'));
  const port = await freePort();
  const script = fileURLToPath(new URL('../../scripts/bench-nginx.sh', import.meta.url));
  const child = spawn('bash', [script, prefix, String(port), new URL(origin).host], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`nginx exited with ${child.exitCode} (see scripts/bench-nginx.sh)`);
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    if (res) break;
    if (Date.now() > deadline) throw new Error('nginx did not listen within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid as number;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    cpu: () => cpuOfTree(pid),
    stop: async () => {
      await stopChild(child);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

export interface KuraTarget extends Target {
  /** The volume. */
  dir: string;
}

/**
 * `kura serve` (bin/kura.js, the real command) with its override pointing at `origin`, on volume `dir`.
 * `ramSize: 0` turns the RAM tier off, so that warm answers come from the volume's files. `workers` is
 * `server.workers` (1 unless given: one process, compared with the single-process Node ceiling; its RSS
 * is the whole Kura's). `nodeArgs` (such as --cpu-prof) go to node before the script.
 */
export async function startKura(
  origin: string,
  dir: string,
  opts: { ramSize?: number; workers?: number; nodeArgs?: string[]; listTtl?: string } = {},
): Promise<KuraTarget> {
  const env: NodeJS.ProcessEnv = {
    KURA_LOG_LEVEL: 'warn',
    KURA_LOG_ACCESS: 'off',
    KURA_WORKERS: String(opts.workers ?? 1),
  };
  if (opts.ramSize !== undefined) env.KURA_RAM_SIZE = String(opts.ramSize);
  if (opts.listTtl === undefined) return startKuraWith(origin, dir, env, opts.nodeArgs ?? []);
  const configDir = await mkdtemp(join(tmpdir(), 'kura-bench-config-'));
  await writeFile(join(configDir, 'kura.yaml'), `cache:\n  list_ttl: ${opts.listTtl}\n`);
  const kura = await startKuraWith(origin, dir, env, opts.nodeArgs ?? [], [
    '--config',
    join(configDir, 'kura.yaml'),
  ]);
  const stop = kura.stop;
  kura.stop = async () => {
    await stop();
    await rm(configDir, { recursive: true, force: true });
  };
  return kura;
}

/** The route prefix of the gateway Kura `startGatewayKura` starts. */
const GATEWAY_PREFIX = '/bench/';

/**
 * A Kura (one worker) whose gateway listener serves the origin's bucket on a public route, with the
 * origin's credentials held by Kura (docs/gateway.md), on volume `dir`: a transparent Kura on the same
 * volume and origin shares its entries. The target's URL is the gateway listener's.
 */
export async function startGatewayKura(
  origin: string,
  dir: string,
  bucket: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  ramSize: number,
): Promise<KuraTarget> {
  const port = await freePort();
  const config = join(await mkdtemp(join(tmpdir(), 'kura-bench-gateway-')), 'kura.yaml');
  await writeFile(
    config,
    [
      'gateway:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  routes:',
      `    - prefix: ${GATEWAY_PREFIX}`,
      `      origin: { url: "${origin}" }`,
      `      bucket: ${bucket}`,
      `      credentials: { access_key_id: ${credentials.accessKeyId}, secret_access_key: ${credentials.secretAccessKey} }`,
      '      auth: none',
      '',
    ].join('\n'),
  );
  const env = {
    KURA_LOG_LEVEL: 'warn',
    KURA_LOG_ACCESS: 'off',
    KURA_WORKERS: '1',
    KURA_RAM_SIZE: String(ramSize),
  };
  const kura = await startKuraWith(origin, dir, env, [], ['--config', config]);
  const url = `http://127.0.0.1:${port}`;
  return {
    ...kura,
    url,
    gatewayPrefix: GATEWAY_PREFIX,
    stop: async () => {
      await kura.stop();
      await rm(dirname(config), { recursive: true, force: true });
    },
  };
}

/** Starts it on a free loopback port and waits until it answers. */
async function startKuraWith(
  origin: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[],
  extraArgs: string[] = [],
): Promise<KuraTarget> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      KURA_BIN,
      'serve',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(port),
      '--https-port',
      '0',
      '--admin-port',
      '0',
      '--origin',
      origin,
      '--cache-dir',
      dir,
      ...extraArgs,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (!(await fetch(`${url}/`).catch(() => undefined))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('kura did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid as number;
  return { url, pid, dir, cpu: () => cpuOfTree(pid), stop: () => stopChild(child) };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
