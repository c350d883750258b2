// Alternated runs of warm hits between builds of Kura, the way bench/README.md's "Where the time goes"
// compares a change with the build before it: every build serves the same objects from its RAM tier, and
// the same wrk load goes to each in turn, `--reps` times, so that the machine's drift falls on all alike.
// A build is a directory holding a built Kura (`dist/`, `bin/`, `assets/`, `package.json`, and
// `node_modules` or a link to it); each runs its own code, started by its own `dist/bench/targets.js`.
//
//   node dist/bench/ab.js <build> <build> [...] [--size 4] [--conns 16] [--secs 5] [--reps 6]
//                                               [--range <bytes>] [--gateway]
//
// `--size` is the objects' size in KiB; `--range` asks for that many bytes at random offsets of them
// instead of whole objects; `--gateway` reads through a gateway listener (docs/gateway.md).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUCKET } from './data.js';
import { CREDENTIALS } from './engines.js';
import type { KuraTarget } from './targets.js';
import { startOrigin } from './targets.js';
import { wrk } from './tools.js';
import { presignAll } from './urls.js';

type Targets = typeof import('./targets.js');

interface Options {
  builds: string[];
  sizeKiB: number;
  conns: number;
  secs: number;
  reps: number;
  range: number | null;
  gateway: boolean;
}

const USAGE =
  'usage: node dist/bench/ab.js <build> <build> [...] [--size KiB] [--conns N] [--secs S] [--reps N] [--range bytes] [--gateway]';

/** A command line that cannot be run: said with the usage, without a stack. */
class UsageError extends Error {}

const OBJECTS = 200;
const RAM_SIZE = 512 * 2 ** 20;

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { builds: [], sizeKiB: 4, conns: 16, secs: 5, reps: 6, range: null, gateway: false };
  const numbers: Record<string, (n: number) => void> = {
    '--size': (n) => (o.sizeKiB = n),
    '--conns': (n) => (o.conns = n),
    '--secs': (n) => (o.secs = n),
    '--reps': (n) => (o.reps = n),
    '--range': (n) => (o.range = n),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--gateway') o.gateway = true;
    else if (Object.hasOwn(numbers, arg)) {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${arg} needs a positive number`);
      numbers[arg]?.(n);
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else o.builds.push(resolve(arg));
  }
  if (o.builds.length < 2) throw new UsageError('give at least two build directories');
  if (o.range !== null && o.range > o.sizeKiB * 1024)
    throw new UsageError('--range is larger than the objects');
  return o;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Standard error of the mean. */
const se = (xs: readonly number[]) =>
  Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1) / xs.length);

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const size = o.sizeKiB * 1024;
  const ranges = o.range === null ? undefined : { bytes: o.range, within: size };
  const origin = await startOrigin({});
  const work = await mkdtemp(join(tmpdir(), 'kura-ab-'));
  const keys = Array.from({ length: OBJECTS }, (_, i) => `ab/o-${i}`);
  const runs: { build: string; kura: KuraTarget; paths: string[]; rps: number[]; cpu: number[] }[] = [];
  try {
    for (const key of keys) await origin.put(key, size);
    for (const build of o.builds) {
      const t = (await import(pathToFileURL(join(build, 'dist/bench/targets.js')).href)) as Targets;
      const vol = await mkdtemp(join(tmpdir(), 'kura-ab-vol-'));
      const kura = o.gateway
        ? await t.startGatewayKura(origin.url, vol, BUCKET, CREDENTIALS, RAM_SIZE)
        : await t.startKura(origin.url, vol, { ramSize: RAM_SIZE });
      runs.push({ build, kura, paths: [], rps: [], cpu: [] });
      const run = runs[runs.length - 1] as (typeof runs)[number];
      run.paths = await presignAll(kura.url, keys, kura.gatewayPrefix);
      // The fill, then two reads more: a chunk enters the RAM tier when it is read again.
      for (let pass = 0; pass < 3; pass++) {
        for (const path of run.paths) {
          const res = await fetch(kura.url + path);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${build}: ${path} answered ${res.status}`);
        }
      }
    }
    for (let rep = 0; rep < o.reps; rep++) {
      for (const run of runs) {
        await wrk(run.kura.url, run.paths, o.conns, 1, work, ranges);
        const before = run.kura.cpu();
        const r = await wrk(run.kura.url, run.paths, o.conns, o.secs, work, ranges);
        const usPerHit = ((run.kura.cpu() - before) / r.requests) * 1e6;
        run.rps.push(r.requests / r.seconds);
        run.cpu.push(usPerHit);
        console.log(
          `rep ${rep} ${run.build}: ${Math.round(r.requests / r.seconds)} req/s, ${usPerHit.toFixed(1)} µs CPU/hit, p50/p99 ${r.p50}/${r.p99} ms`,
        );
      }
    }
    const first = runs[0] as (typeof runs)[number];
    for (const run of runs) {
      const gain = (mean(run.rps) / mean(first.rps) - 1) * 100;
      const sigmas = (mean(run.rps) - mean(first.rps)) / Math.hypot(se(run.rps), se(first.rps));
      console.log(
        `${run.build}: ${Math.round(mean(run.rps))} ± ${Math.round(se(run.rps))} req/s, ` +
          `${mean(run.cpu).toFixed(1)} ± ${se(run.cpu).toFixed(1)} µs CPU/hit` +
          (run === first ? '' : `; ${gain >= 0 ? '+' : ''}${gain.toFixed(1)}% req/s`) +
          (run === first || o.reps < 2 ? '' : ` (${sigmas.toFixed(1)} standard errors)`),
      );
    }
  } finally {
    for (const run of runs) {
      await run.kura.stop();
      await rm(run.kura.dir, { recursive: true, force: true });
    }
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
