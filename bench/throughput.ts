// Workloads 1 and 2: large objects (whole 256 MiB GETs by curl, 1 and 4 clients, then 64 KiB ranges of
// them by wrk) and small objects (4 KiB and 64 KiB GETs by wrk over presigned URLs, 1 to 64 connections),
// against every target in turn: the origin directly, the Node ceiling, nginx cold and warm, Kura cold,
// warm from RAM and warm from disk; and the peak RSS of a Kura answering 64 clients from its files.

import { rm } from 'node:fs/promises';
import { BUCKET, GiB, KiB, MiB, type ObjectSpec } from './data.js';
import { CREDENTIALS } from './engines.js';
import type { Plan, Results } from './plan.js';
import { peakRss } from './proc.js';
import type { Origin, Target } from './targets.js';
import { startCeiling, startGatewayKura, startKura, tempDir } from './targets.js';
import { curlClients, type WrkRanges, wrk } from './tools.js';
import { presignAll, presignUrls } from './urls.js';

export const bigKey = (i: number) => `large/big-${i}.bin`;
export const smallKey = (size: number, i: number) => `small/${size / KiB}k-${i}.bin`;

export function throughputObjects(plan: Plan): ObjectSpec[] {
  const objects: ObjectSpec[] = [];
  const bigCount = plan.large.concurrency.reduce((n, c) => n + c, 0);
  for (let i = 0; i < bigCount; i++) objects.push({ key: bigKey(i), size: plan.large.size });
  return [...objects, ...smallObjects(plan)];
}

function smallObjects(plan: Plan): ObjectSpec[] {
  const objects: ObjectSpec[] = [];
  for (const size of plan.small.sizes) {
    for (let i = 0; i < plan.small.objects; i++) objects.push({ key: smallKey(size, i), size });
  }
  return objects;
}

const sizeName = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);

interface Context {
  plan: Plan;
  results: Results;
  workDir: string;
  origin: Origin;
  ceiling: Target;
  nginx: Target;
  /** Which of the two workloads to run. */
  large: boolean;
  small: boolean;
}

/**
 * The keys each large cell reads: cell c uses its own c objects (one per client), so that a cold cell
 * meets only objects no earlier cell has fetched.
 */
function largeCells(plan: Plan): { c: number; keys: string[] }[] {
  let next = 0;
  return plan.large.concurrency.map((c) => ({
    c,
    keys: Array.from({ length: c }, () => bigKey(next++)),
  }));
}

/** Figures of one target in one cell, summed over its rounds. */
class Tally {
  bytes = 0;
  seconds = 0;
  requests = 0;
  cpu = 0;
  readonly p50s: number[] = [];
  readonly p99s: number[] = [];
}

const middle = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** One round of a large cell: each of `keys` fetched once, by its own curl client, all at once. */
async function largeRound(ctx: Context, target: Target, keys: string[], tally: Tally): Promise<void> {
  const urls = await presignUrls(target.url, keys);
  const cpu0 = target.cpu();
  const { seconds, transfers } = await curlClients(
    urls.map((u) => [u]),
    ctx.plan.large.size,
  );
  tally.cpu += target.cpu() - cpu0;
  tally.seconds += seconds;
  tally.bytes += transfers.length * ctx.plan.large.size;
  const times = transfers.map((t) => t.seconds * 1000);
  tally.p50s.push(middle(times));
  tally.p99s.push(Math.max(...times));
}

/** At most this many uncounted passes over the large objects before the warm cells (`warmLarge`). */
const WARM_PASSES = 4;

/**
 * Reads every large object through `kura`, not counted, until a pass costs the origin nothing (at most
 * WARM_PASSES): the passes made, and the body bytes the origin sent meanwhile.
 */
async function warmLarge(
  ctx: Context,
  kura: Target,
  cells: { keys: string[] }[],
): Promise<{ passes: number; bytes: number }> {
  await ctx.origin.stats(); // from here on
  let bytes = 0;
  for (let pass = 1; pass <= WARM_PASSES; pass++) {
    for (const { keys } of cells) await largeRound(ctx, kura, keys, new Tally());
    const sent = (await ctx.origin.stats()).bodyBytes;
    bytes += sent;
    if (sent === 0) return { passes: pass, bytes };
  }
  return { passes: WARM_PASSES, bytes };
}

/**
 * A large cell for several targets, their rounds interleaved (A B C, A B C, …) so that a burst of load
 * from the other users of the machine falls on every target alike; MiB/s over the summed wall clock.
 */
async function largeCell(
  ctx: Context,
  workload: 'large cold' | 'large warm',
  targets: [string, Target][],
  c: number,
  keys: string[],
  rounds: number,
): Promise<void> {
  const tallies = targets.map(() => new Tally());
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, target]] of targets.entries()) await largeRound(ctx, target, keys, tallies[i] as Tally);
  }
  for (const [i, [name]] of targets.entries()) {
    const t = tallies[i] as Tally;
    ctx.results.add({
      workload,
      cell: `${sizeName(ctx.plan.large.size)} c=${c}`,
      target: name,
      value: t.bytes / MiB / t.seconds,
      unit: 'MiB/s',
      higherIsBetter: true,
      cpuPerGiB: t.cpu / (t.bytes / GiB),
      p50: middle(t.p50s),
      p99: Math.max(...t.p99s),
    });
  }
}

/** A small cell: every target over the small objects of `size`, `c` connections (`wrkCell`). */
function smallCell(ctx: Context, targets: [string, Target][], size: number, c: number): Promise<void> {
  const keys = Array.from({ length: ctx.plan.small.objects }, (_, i) => smallKey(size, i));
  return wrkCell(ctx, 'small', `${sizeName(size)} c=${c}`, targets, keys, c);
}

/**
 * Random ranges of the large objects, as analytics engines read columnar files: every target over the
 * large objects the warm cells read, `plan.ranges.bytes` at a random offset per request.
 */
function rangeCell(ctx: Context, targets: [string, Target][], keys: string[]): Promise<void> {
  const { bytes, connections } = ctx.plan.ranges;
  const cell = `${sizeName(bytes)} of ${sizeName(ctx.plan.large.size)} c=${connections}`;
  const ranges = { bytes, within: ctx.plan.large.size };
  return wrkCell(ctx, 'ranges', cell, targets, keys, connections, ranges);
}

/**
 * A wrk cell for several targets: a warm-up run each, then SLICES runs of each in turn (interleaved as
 * above); req/s over the summed time, latency quantiles the median of the slices'.
 */
async function wrkCell(
  ctx: Context,
  workload: string,
  cell: string,
  targets: [string, Target][],
  keys: string[],
  c: number,
  ranges?: WrkRanges,
): Promise<void> {
  const { plan } = ctx;
  const slices = plan.quick ? 1 : 3;
  // wrk takes whole seconds.
  const sliceSeconds = Math.max(1, Math.round(plan.seconds / slices));
  const paths = await Promise.all(targets.map(([, t]) => presignAll(t.url, keys, t.gatewayPrefix)));
  // A failed run names its target and cell.
  const run = (i: number, seconds: number) => {
    const [name, target] = targets[i] as [string, Target];
    return wrk(target.url, paths[i] as string[], c, seconds, ctx.workDir, ranges).catch((err: Error) => {
      throw new Error(`${name}, ${workload} ${cell}: ${err.message}`);
    });
  };
  for (const i of targets.keys()) await run(i, 1);
  const tallies = targets.map(() => new Tally());
  for (let s = 0; s < slices; s++) {
    for (const [i, [, target]] of targets.entries()) {
      const tally = tallies[i] as Tally;
      const cpu0 = target.cpu();
      const r = await run(i, sliceSeconds);
      tally.cpu += target.cpu() - cpu0;
      tally.requests += r.requests;
      tally.seconds += r.seconds;
      tally.bytes += r.bytes;
      tally.p50s.push(r.p50);
      tally.p99s.push(r.p99);
    }
  }
  for (const [i, [name]] of targets.entries()) {
    const t = tallies[i] as Tally;
    ctx.results.add({
      workload,
      cell,
      target: name,
      value: t.requests / t.seconds,
      unit: 'req/s',
      higherIsBetter: true,
      p50: middle(t.p50s),
      p99: middle(t.p99s),
      cpuPerGiB: t.cpu / (t.bytes / GiB),
    });
  }
}

/** Reads every small object once through `target` (the fills of a cold cache), 8 at a time. */
async function readAllSmall(ctx: Context, target: Target): Promise<void> {
  for (const size of ctx.plan.small.sizes) {
    const keys = Array.from({ length: ctx.plan.small.objects }, (_, i) => smallKey(size, i));
    const urls = await presignUrls(target.url, keys, target.gatewayPrefix);
    const lists = Array.from({ length: 8 }, (_, i) => urls.filter((_, j) => j % 8 === i));
    await curlClients(lists, size);
  }
}

/**
 * Memory under many clients: a fresh Kura with the RAM tier off answers 64 clients over every small
 * object of the largest size from the files, for as long as a small cell; its peak RSS is a memory cell.
 */
async function crowdMemory(ctx: Context, volume: string, started: Target[]): Promise<void> {
  const { plan } = ctx;
  const clients = 64;
  const size = Math.max(...plan.small.sizes);
  const kura = await startKura(ctx.origin.url, volume, { ramSize: 0 });
  started.push(kura);
  const keys = Array.from({ length: plan.small.objects }, (_, i) => smallKey(size, i));
  const r = await wrk(kura.url, await presignAll(kura.url, keys), clients, plan.seconds, ctx.workDir);
  ctx.results.add({
    workload: 'memory',
    cell: `${clients} clients × ${plan.small.objects} objects of ${sizeName(size)}, RAM tier off`,
    target: 'kura warm',
    value: peakRss(kura.pid) / MiB,
    unit: 'MiB peak RSS',
    higherIsBetter: false,
    note: `${(r.requests / r.seconds).toFixed(0)} req/s`,
  });
}

/**
 * Cold: a fresh Kura and nginx read each large object for the first time, beside the same reads direct.
 * Then every small object is read once through both (the fills), and the warm cells run with two Kura
 * processes on the one volume side by side: the first (its RAM tier holding every object since the fills)
 * and a second with the RAM tier off, which answers from the files; the small cells add a third, a Kura
 * of two worker processes.
 */
export async function runThroughput(ctx: Context): Promise<void> {
  const { plan, origin, ceiling, nginx } = ctx;
  const cells = ctx.large ? largeCells(plan) : [];
  const smallSizes = ctx.small ? plan.small.sizes : [];
  const volume = await tempDir('kura-bench-volume-');
  const started: Target[] = [];
  try {
    console.log('large objects, cold: the first read of each object');
    const kura = await startKura(origin.url, volume, { ramSize: plan.ramSize });
    started.push(kura);
    for (const { c, keys } of cells) {
      const cold: [string, Target][] = [
        ['direct', origin],
        ['kura cold', kura],
        ['nginx cold', nginx],
      ];
      await largeCell(ctx, 'large cold', cold, c, keys, 1);
    }
    if (ctx.small) {
      await readAllSmall(ctx, kura);
      await readAllSmall(ctx, nginx);
    }
    const fills = await origin.stats();
    console.log(`  (origin: ${fills.requests} requests, ${(fills.bodyBytes / MiB).toFixed(0)} MiB sent)`);

    const disk = await startKura(origin.url, volume, { ramSize: 0 });
    started.push(disk);
    const warm: [string, Target][] = [
      ['direct', origin],
      ['ceiling', ceiling],
      ['nginx warm', nginx],
      ['kura warm ram', kura],
      ['kura warm disk', disk],
    ];
    // A chunk enters the RAM tier on its first hit, never from a fill (docs/caching.md), so the large
    // objects are read through the first Kura, not counted, before its warm cells. A chunk a cold fill
    // skipped while the volume was behind (docs/caching.md, Writing chunks) comes from S3 on that read and
    // enters the tier on the next: the reads go on until one costs the origin nothing, so that the warm
    // cells are what their name says.
    const warmUp = await warmLarge(ctx, kura, cells);
    console.log('large objects, warm (rounds interleaved across targets)');
    for (const { c, keys } of cells) await largeCell(ctx, 'large warm', warm, c, keys, plan.large.rounds);
    if (cells.length > 0) {
      // Beside the direct reads, what the origin sent is what Kura fetched again.
      const after = await origin.stats(); // since the last look: the warm cells
      const directBytes =
        cells.reduce((n, { keys }) => n + keys.length, 0) * plan.large.rounds * plan.large.size;
      const refetched = after.bodyBytes - directBytes;
      ctx.results.notes.push(
        `large warm: Kura's uncounted reads before the warm cells took ${warmUp.passes} pass${warmUp.passes === 1 ? '' : 'es'} and fetched ${(warmUp.bytes / MiB).toFixed(0)} MiB again (chunks its cold fills skipped while the volume was behind); during the warm cells, besides the direct reads, the origin sent ${(refetched / MiB).toFixed(0)} MiB.`,
      );
    }
    // After the note above, which counts what the origin sent during the large warm cells.
    if (cells.length > 0) {
      console.log('ranges of the large objects, warm');
      await rangeCell(
        ctx,
        warm,
        cells.flatMap(({ keys }) => keys),
      );
    }
    // As many worker processes as nginx has (2 here), against nginx; its RAM tiers warmed by two passes,
    // since each connection lands on either worker. Beside it, the ceiling in as many processes sharing
    // the port the same way: what a node:http server of two processes reaches here, the bound of the goals
    // that compare Kura's two workers (bench/goals.ts).
    const small: [string, Target][] = [...warm];
    if (ctx.small) {
      const ceiling2 = await startCeiling(smallObjects(plan), 2);
      started.push(ceiling2);
      small.push(['ceiling 2 workers', ceiling2]);
      const group = await startKura(origin.url, volume, { ramSize: plan.ramSize, workers: 2 });
      started.push(group);
      for (let pass = 0; pass < 2; pass++) await readAllSmall(ctx, group);
      small.push(['kura 2 workers', group]);
      // The gateway (Kura holds the credentials and authorizes its clients): hits of the same entries,
      // its RAM tier warmed by one pass.
      const gateway = await startGatewayKura(origin.url, volume, BUCKET, CREDENTIALS, plan.ramSize);
      started.push(gateway);
      await readAllSmall(ctx, gateway);
      small.push(['kura gateway', gateway]);
    }
    console.log('small objects, warm (slices interleaved across targets)');
    for (const size of smallSizes) {
      for (const c of plan.small.concurrency) await smallCell(ctx, small, size, c);
    }
    if (ctx.small) await crowdMemory(ctx, volume, started);
  } finally {
    for (const k of started) await k.stop();
    await rm(volume, { recursive: true, force: true });
  }
}
