// Several real `kura serve` processes sharing one volume directory, each on its own loopback address
// (127.0.0.2, .3, .4: Linux routes all of 127/8 to lo), for the multi-instance tests.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { readFleetStatus } from '../../src/store/fleet-status.js';
import { KURA_BIN, type KuraProcess, spawnKura } from './kura.js';

export const FLEET_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

export interface FleetMember {
  host: string;
  url: string;
  proc: KuraProcess;
}

export interface TestFleet {
  root: string;
  /** The shared volume. */
  dir: string;
  config: string;
  members: FleetMember[];
  /** SIGKILL, and wait for the exit. */
  kill(i: number): Promise<void>;
  /** Starts member `i` again on the same address (a new port). */
  restart(i: number): Promise<void>;
  /** The member whose process is the leader now, or -1. */
  leaderIndex(): Promise<number>;
  close(): Promise<void>;
}

/** Starts `hosts.length` instances with the given `cache:` YAML lines on one fresh volume. */
export async function startFleet(opts: {
  origin: string;
  cacheYaml: string;
  hosts?: string[];
}): Promise<TestFleet> {
  const root = await mkdtemp(join(tmpdir(), 'kura-fleet-'));
  const dir = join(root, 'volume');
  const config = join(root, 'kura.yaml');
  await writeFile(config, `cache:\n${opts.cacheYaml}`);
  const hosts = opts.hosts ?? FLEET_HOSTS;
  const start = async (host: string): Promise<FleetMember> => {
    const proc = await spawnKura(
      ['-c', config, '--http-host', host, '--cache-dir', dir, '--origin', opts.origin, '--log-level', 'info'],
      process.env.KURA_FLEET_ACCESS_LOGS ? { KURA_LOG_ACCESS: join(root, `access-${host}.log`) } : {},
    );
    return { host, proc, url: `http://${host}:${proc.port}` };
  };
  const members: FleetMember[] = [];
  try {
    for (const host of hosts) members.push(await start(host));
  } catch (err) {
    await Promise.all(members.map((m) => m.proc.stop()));
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const fleet: TestFleet = {
    root,
    dir,
    config,
    members,
    async kill(i) {
      const child = (members[i] as FleetMember).proc.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async restart(i) {
      members[i] = await start((members[i] as FleetMember).host);
    },
    async leaderIndex() {
      const status = await readFleetStatus(dir);
      if (!status.leader?.lockHeld) return -1;
      const leader = status.instances.find((s) => s.instance === status.leader?.instance);
      return members.findIndex((m) => m.proc.child.pid === leader?.pid && m.proc.child.exitCode === null);
    },
    async close() {
      await Promise.all(members.map((m) => m.proc.stop()));
      if (process.env.KURA_FLEET_ACCESS_LOGS) console.log(`fleet files kept in ${root}`);
      else await rm(root, { recursive: true, force: true });
    },
  };
  return fleet;
}

/**
 * Bytes of chunk files and records on the volume: what `cache.max_size` bounds. Record tombstones
 * (`{h}.gone`, a timestamp each, swept after ten minutes) sit beside the records but are not records:
 * like leases and locks they live in the room `min_free` leaves (docs/volume.md).
 */
export async function volumeBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(path, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith('.gone')) total += (await stat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(join(dir, 'data'));
  await walk(join(dir, 'objects'));
  return total;
}

/** Runs the `kura` command (not `serve`) to completion. */
export async function runKura(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [KURA_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Polls `check` every 100 ms until it returns true or `ms` pass; returns whether it did. */
export async function waitUntil(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/**
 * Samples `volumeBytes(dir)` every `intervalMs` in a worker thread, so that a test process busy with its
 * own clients does not stretch the interval between samples. `stop()` returns every sample taken.
 */
export function sampleVolume(dir: string, intervalMs: number): { stop(): Promise<number[]> } {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    const path = require('node:path');
    const walk = (p) => {
      let total = 0;
      let entries = [];
      try { entries = fs.readdirSync(p, { withFileTypes: true }); } catch { return 0; }
      for (const e of entries) {
        const q = path.join(p, e.name);
        if (e.isDirectory()) total += walk(q);
        else if (e.name.endsWith('.gone')) continue;
        else { try { total += fs.statSync(q).size; } catch {} }
      }
      return total;
    };
    const samples = [];
    const timer = setInterval(() => {
      samples.push(walk(path.join(workerData.dir, 'data')) + walk(path.join(workerData.dir, 'objects')));
    }, workerData.intervalMs);
    parentPort.on('message', () => { clearInterval(timer); parentPort.postMessage(samples); });
  `;
  const worker = new Worker(code, { eval: true, workerData: { dir, intervalMs } });
  return {
    async stop() {
      worker.postMessage('stop');
      const [samples] = (await once(worker, 'message')) as [number[]];
      await worker.terminate();
      return samples;
    },
  };
}
