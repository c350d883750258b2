// Alternated runs between builds of Kura, the way bench/README.md's "Where the time goes" compares a
// change with the build before it: the same load goes to each build in turn, `--reps` times, so that the
// machine's drift falls on all alike. A build is a directory holding a built Kura (`dist/`, `bin/`,
// `assets/`, `package.json`, and `node_modules` or a link to it); each runs its own code, started by its
// own `dist/bench/targets.js`.
//
//   node dist/bench/ab.js <build> <build> [...] [--size 4] [--conns 16] [--secs 5] [--reps 6]
//                                               [--range <bytes>] [--gateway] [--ram-off]
//   node dist/bench/ab.js <build> <build> [...] --cold [--size 1024] [--range 65536] [--conns 16] [--s3-like]
//
// Each run goes to the builds in turn, forwards and backwards alternately. `--dir` is where the volumes
// are made (the system's temporary directory unless given).
// Warm (the default): wrk reads 200 objects of `--size` KiB from each build's RAM tier, whole or, with
// `--range`, that many bytes at random offsets; `--gateway` reads through a gateway listener
// (docs/gateway.md); `--ram-off` turns the RAM tier off, so that every hit reads the volume's files.
// Cold (`--cold`): each run is a fresh Kura on a fresh volume reading the last `--range` bytes of 240
// objects it has never seen, `--conns` at a time, after as many others that warm its JIT; `--s3-like`
// puts the S3-like origin profile behind it (bench/README.md).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3_LIKE } from '../test/support/memory-origin-profile.js';
import { BUCKET } from './data.js';
import { CREDENTIALS } from './engines.js';
import type { KuraTarget, Origin } from './targets.js';
import { startOrigin } from './targets.js';
import { wrk } from './tools.js';
import { presignAll } from './urls.js';

type Targets = typeof import('./targets.js');

interface Options {
  builds: string[];
  cold: boolean;
  sizeKiB: number;
  conns: number;
  secs: number;
  reps: number;
  range: number | null;
  gateway: boolean;
  /** The RAM tier off: hits from the volume's files. */
  ramOff: boolean;
  s3Like: boolean;
  /** Where the volumes are made. */
  dir: string;
}

const USAGE = `usage: node dist/bench/ab.js <build> <build> [...] [--size KiB] [--conns N] [--secs S] [--reps N]
         [--range bytes] [--gateway] [--ram-off] [--cold] [--s3-like] [--dir path]`;

/** A command line that cannot be run: said with the usage, without a stack. */
class UsageError extends Error {}

const WARM_OBJECTS = 200;
const COLD_FILLS = 240;
const RAM_SIZE = 512 * 2 ** 20;

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    builds: [],
    cold: false,
    sizeKiB: 0,
    conns: 16,
    secs: 5,
    reps: 6,
    range: null,
    gateway: false,
    ramOff: false,
    s3Like: false,
    dir: tmpdir(),
  };
  const numbers: Record<string, (n: number) => void> = {
    '--size': (n) => (o.sizeKiB = n),
    '--conns': (n) => (o.conns = n),
    '--secs': (n) => (o.secs = n),
    '--reps': (n) => (o.reps = n),
    '--range': (n) => (o.range = n),
  };
  const flags: Record<string, () => void> = {
    '--cold': () => (o.cold = true),
    '--gateway': () => (o.gateway = true),
    '--ram-off': () => (o.ramOff = true),
    '--s3-like': () => (o.s3Like = true),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (Object.hasOwn(flags, arg)) flags[arg]?.();
    else if (arg === '--dir') o.dir = resolve(argv[++i] ?? '');
    else if (Object.hasOwn(numbers, arg)) {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${arg} needs a positive number`);
      numbers[arg]?.(n);
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else o.builds.push(resolve(arg));
  }
  // Defaults that differ by mode: a warm hit's object, a cold fill's object and footer.
  if (o.sizeKiB === 0) o.sizeKiB = o.cold ? 1024 : 4;
  if (o.cold) o.range ??= 65_536;
  if (o.builds.length < 2) throw new UsageError('give at least two build directories');
  if (o.range !== null && o.range > o.sizeKiB * 1024)
    throw new UsageError('--range is larger than the objects');
  if (o.cold && o.gateway) throw new UsageError('--cold reads through the S3 listener only');
  if (o.cold && o.ramOff) throw new UsageError('--ram-off is for warm hits');
  return o;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Standard error of the mean. */
const se = (xs: readonly number[]) =>
  Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1) / xs.length);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/**
 * The builds in the order of run `rep`: forwards, then backwards, so that a drift that only grows (a
 * file system slowing as volumes come and go) does not always fall on the later build.
 */
function inTurn<T>(builds: readonly T[], rep: number): readonly T[] {
  return rep % 2 === 0 ? builds : [...builds].reverse();
}

/** One build's figures, run after run: a rate (higher is better) and Kura's CPU per request. */
interface Series {
  build: string;
  rate: number[];
  cpuUs: number[];
}

/** Starts a build's own Kura (its own `dist/bench/targets.js`). */
async function startBuild(build: string, origin: Origin, o: Options): Promise<KuraTarget> {
  const t = (await import(pathToFileURL(join(build, 'dist/bench/targets.js')).href)) as Targets;
  const vol = await mkdtemp(join(o.dir, 'kura-ab-vol-'));
  const ramSize = o.ramOff ? 0 : RAM_SIZE;
  return o.gateway
    ? t.startGatewayKura(origin.url, vol, BUCKET, CREDENTIALS, ramSize)
    : t.startKura(origin.url, vol, { ramSize });
}

async function stopBuild(kura: KuraTarget): Promise<void> {
  await kura.stop();
  await rm(kura.dir, { recursive: true, force: true });
}

async function warmRuns(o: Options, origin: Origin, work: string): Promise<Series[]> {
  const size = o.sizeKiB * 1024;
  const ranges = o.range === null ? undefined : { bytes: o.range, within: size };
  const keys = Array.from({ length: WARM_OBJECTS }, (_, i) => `ab/o-${i}`);
  for (const key of keys) await origin.put(key, size);
  const runs: (Series & { kura: KuraTarget; paths: string[] })[] = [];
  try {
    for (const build of o.builds) {
      const kura = await startBuild(build, origin, o);
      const paths = await presignAll(kura.url, keys, kura.gatewayPrefix);
      runs.push({ build, kura, paths, rate: [], cpuUs: [] });
      // The fill, then two reads more: a chunk enters the RAM tier when it is read again.
      for (let pass = 0; pass < 3; pass++) {
        for (const path of paths) {
          const res = await fetch(kura.url + path);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${build}: ${path} answered ${res.status}`);
        }
      }
    }
    for (let rep = 0; rep < o.reps; rep++) {
      for (const run of inTurn(runs, rep)) {
        await wrk(run.kura.url, run.paths, o.conns, 1, work, ranges);
        const before = run.kura.cpu();
        const r = await wrk(run.kura.url, run.paths, o.conns, o.secs, work, ranges);
        const cpuUs = ((run.kura.cpu() - before) / r.requests) * 1e6;
        run.rate.push(r.requests / r.seconds);
        run.cpuUs.push(cpuUs);
        console.log(
          `rep ${rep} ${run.build}: ${Math.round(r.requests / r.seconds)} req/s, ${cpuUs.toFixed(1)} µs CPU/hit, p50/p99 ${r.p50.toFixed(2)}/${r.p99.toFixed(2)} ms`,
        );
      }
    }
    return runs;
  } finally {
    for (const run of runs) await stopBuild(run.kura);
  }
}

/** Reads the last `bytes` of each URL, `conns` at a time: wall time, and each answer's head and tail. */
async function suffixReads(urls: readonly string[], bytes: number, conns: number) {
  const heads: number[] = [];
  const tails: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (next < urls.length) {
        const url = urls[next++] as string;
        const asked = performance.now();
        const res = await fetch(url, { headers: { range: `bytes=-${bytes}` } });
        const head = performance.now();
        const body = await res.arrayBuffer();
        if (res.status !== 206 || body.byteLength !== bytes) {
          throw new Error(`${url}: ${res.status} with ${body.byteLength} bytes`);
        }
        heads.push(head - asked);
        tails.push(performance.now() - head);
      }
    }),
  );
  return { ms: performance.now() - started, heads, tails };
}

async function coldRuns(o: Options, origin: Origin): Promise<Series[]> {
  const bytes = o.range as number;
  const keys = Array.from({ length: 2 * COLD_FILLS }, (_, i) => `ab/cold-${i}`);
  for (const key of keys) await origin.put(key, o.sizeKiB * 1024);
  const series: Series[] = o.builds.map((build) => ({ build, rate: [], cpuUs: [] }));
  for (let rep = 0; rep < o.reps; rep++) {
    for (const s of inTurn(series, rep)) {
      const kura = await startBuild(s.build, origin, o);
      try {
        const urls = (await presignAll(kura.url, keys)).map((path) => kura.url + path);
        await suffixReads(urls.slice(0, COLD_FILLS), bytes, o.conns);
        const before = kura.cpu();
        const r = await suffixReads(urls.slice(COLD_FILLS), bytes, o.conns);
        const cpuUs = ((kura.cpu() - before) / COLD_FILLS) * 1e6;
        s.rate.push(COLD_FILLS / (r.ms / 1000));
        s.cpuUs.push(cpuUs);
        console.log(
          `rep ${rep} ${s.build}: ${Math.round(r.ms)} ms for ${COLD_FILLS} fills, ${Math.round(cpuUs)} µs CPU/fill, ` +
            `p50 head ${median(r.heads).toFixed(1)} ms, last byte ${median(r.tails).toFixed(1)} ms after it`,
        );
      } finally {
        await stopBuild(kura);
      }
    }
  }
  return series;
}

function summarize(o: Options, series: readonly Series[]): void {
  const unit = o.cold ? 'fills/s' : 'req/s';
  const first = series[0] as Series;
  for (const s of series) {
    const gain = (mean(s.rate) / mean(first.rate) - 1) * 100;
    const sigmas = (mean(s.rate) - mean(first.rate)) / Math.hypot(se(s.rate), se(first.rate));
    console.log(
      `${s.build}: ${Math.round(mean(s.rate))} ± ${Math.round(se(s.rate))} ${unit}, ` +
        `${mean(s.cpuUs).toFixed(1)} ± ${se(s.cpuUs).toFixed(1)} µs CPU per ${o.cold ? 'fill' : 'hit'}` +
        (s === first ? '' : `; ${gain >= 0 ? '+' : ''}${gain.toFixed(1)}% ${unit}`) +
        (s === first || o.reps < 2 ? '' : ` (${sigmas.toFixed(1)} standard errors)`),
    );
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const origin = await startOrigin(o.s3Like ? { ...S3_LIKE } : {});
  const work = await mkdtemp(join(tmpdir(), 'kura-ab-'));
  try {
    summarize(o, o.cold ? await coldRuns(o, origin) : await warmRuns(o, origin, work));
  } finally {
    await origin.stop();
    await rm(work, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n${USAGE}`);
  process.exitCode = 2;
}
