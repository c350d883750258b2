// A real S3 for tests: the one-node Ceph RADOS Gateway of scripts/rgw.sh, started once per test run.
//
// node --test runs each file in a process of its own, so the run's RGW is started outside them:
// scripts/with-rgw.ts (which `npm test` runs) starts it before the files and stops it after, and passes
// its directory in KURA_RGW_DIR. A file run by hand, without it, starts an RGW of its own and stops it
// when done. When the run's RGW could not start, KURA_RGW_ERROR says why, and every test that needs it
// fails with that reason: it is never skipped.

import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/rgw.sh', import.meta.url));
/** First start installs nothing (CI does, `scripts/rgw.sh install`) but may wait for a slow disk. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;

export interface RgwCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Rgw {
  /** http://127.0.0.1:PORT of radosgw itself. */
  endpoint: string;
  /** Its directory (ceph.conf, logs). */
  dir: string;
  /** The main user: the same keys as the other test origins (`S3RVER`). */
  credentials: RgwCredentials;
  /** A second user, for requests S3 must refuse. */
  alt: RgwCredentials;
  /** Stops RGW when this process started it; the run's shared RGW is left to the runner. */
  release(): Promise<void>;
}

let mine: Promise<Rgw> | undefined;

/** The test run's RGW (see the top of this file); throws when there is none and none can start. */
export function useRgw(): Promise<Rgw> {
  if (process.env.KURA_RGW_ERROR) {
    return Promise.reject(new Error(`RGW could not start for this run: ${process.env.KURA_RGW_ERROR}`));
  }
  const shared = process.env.KURA_RGW_DIR;
  if (shared) return Promise.resolve(readRgw(shared, async () => {}));
  mine ??= startRgw(`/tmp/kura-rgw-${process.pid}`);
  return mine;
}

/** Starts an RGW under `dir` on free loopback ports (scripts/rgw.sh start). */
export async function startRgw(dir: string): Promise<Rgw> {
  const port = await freePorts(10);
  try {
    await run('bash', [SCRIPT, 'start', dir, String(port)], { timeout: START_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    await stopRgw(dir).catch(() => {});
    throw new Error(`scripts/rgw.sh start failed: ${e.stderr?.trim() || e.message}`);
  }
  // A process that ends without release() still stops what it started.
  const onExit = () => stopRgwSync(dir);
  process.once('exit', onExit);
  return readRgw(dir, async () => {
    process.off('exit', onExit);
    await stopRgw(dir);
  });
}

export async function stopRgw(dir: string): Promise<void> {
  await run('bash', [SCRIPT, 'stop', dir], { timeout: STOP_TIMEOUT_MS });
}

function stopRgwSync(dir: string): void {
  try {
    execFileSync('bash', [SCRIPT, 'stop', dir], { timeout: STOP_TIMEOUT_MS, stdio: 'ignore' });
  } catch {
    // Nothing more can be done at exit.
  }
}

function readRgw(dir: string, release: () => Promise<void>): Rgw {
  const env = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env.set(line.slice(0, at), line.slice(at + 1));
  }
  const need = (name: string) => {
    const value = env.get(name);
    if (value === undefined) throw new Error(`${dir}/env lacks ${name}`);
    return value;
  };
  let released: Promise<void> | undefined;
  return {
    endpoint: need('RGW_ENDPOINT'),
    dir,
    credentials: { accessKeyId: need('RGW_ACCESS_KEY'), secretAccessKey: need('RGW_SECRET_KEY') },
    alt: { accessKeyId: need('RGW_ALT_ACCESS_KEY'), secretAccessKey: need('RGW_ALT_SECRET_KEY') },
    release: () => {
      released ??= release();
      return released;
    },
  };
}

/** Empties and removes buckets, whatever they hold (radosgw-admin, as S3 would need many requests). */
export async function removeBuckets(rgw: Rgw, buckets: readonly string[]): Promise<void> {
  for (const bucket of buckets) {
    await run(
      'radosgw-admin',
      ['-c', join(rgw.dir, 'ceph.conf'), 'bucket', 'rm', `--bucket=${bucket}`, '--purge-objects'],
      { timeout: STOP_TIMEOUT_MS },
    ).catch((err: Error) => {
      if (!/not found|No such|ENOENT|-2/i.test(err.message)) throw err;
    });
  }
}

/** The first of `count` consecutive free loopback ports (radosgw's, the monitor's, the OSD's). */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 10 * Math.floor(Math.random() * 3_000);
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await isFree(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
