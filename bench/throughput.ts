// Workloads 1 and 2: large objects (whole 256 MiB GETs by curl, 1 and 4 clients) and small objects
// (4 KiB and 64 KiB GETs by wrk over presigned URLs, 1 to 64 connections), against every target in turn:
// the origin directly, the Node ceiling, nginx cold and warm, Kura cold, warm from RAM and warm from disk.

import { rm } from 'node:fs/promises';
import { GiB, KiB, MiB, type ObjectSpec } from './data.js';
import type { Figure, Plan, Results } from './plan.js';
import type { Origin, Target } from './targets.js';
import { startKura, tempDir } from './targets.js';
import { curlClients, wrk } from './tools.js';
import { presignAll, presignUrls } from './urls.js';

export const bigKey = (i: number) => `large/big-${i}.bin`;
export const smallKey = (size: number, i: number) => `small/${size / KiB}k-${i}.bin`;

export function throughputObjects(plan: Plan): ObjectSpec[] {
  const objects: ObjectSpec[] = [];
  const bigCount = plan.large.concurrency.reduce((n, c) => n + c, 0);
  for (let i = 0; i < bigCount; i++) objects.push({ key: bigKey(i), size: plan.large.size });
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

/** Each client fetches its key `rounds` times; MiB/s over the wall clock, CPU of the target per GiB. */
async function largeCell(
  ctx: Context,
  workload: 'large cold' | 'large warm',
  target: Target,
  name: string,
  c: number,
  keys: string[],
  rounds: number,
) {
  const { plan } = ctx;
  const urls = await presignUrls(target.url, keys);
  const lists = urls.map((u) => Array.from({ length: rounds }, () => u));
  const cpu0 = target.cpu();
  const { seconds, transfers } = await curlClients(lists, plan.large.size);
  const cpu = target.cpu() - cpu0;
  const bytes = transfers.length * plan.large.size;
  const perTransfer = transfers.map((t) => t.seconds * 1000).sort((a, b) => a - b);
  const figure: Figure = {
    workload,
    cell: `${sizeName(plan.large.size)} c=${c}`,
    target: name,
    value: bytes / MiB / seconds,
    unit: 'MiB/s',
    higherIsBetter: true,
    cpuPerGiB: cpu / (bytes / GiB),
    p50: perTransfer[Math.floor(perTransfer.length / 2)] ?? 0,
    p99: perTransfer[perTransfer.length - 1] ?? 0,
  };
  ctx.results.add(figure);
}

async function smallCell(ctx: Context, target: Target, name: string, size: number, c: number) {
  const { plan } = ctx;
  const keys = Array.from({ length: plan.small.objects }, (_, i) => smallKey(size, i));
  const paths = await presignAll(target.url, keys);
  await wrk(target.url, paths, c, Math.min(1, plan.seconds), ctx.workDir); // connections and JIT warm
  const cpu0 = target.cpu();
  const r = await wrk(target.url, paths, c, plan.seconds, ctx.workDir);
  const cpu = target.cpu() - cpu0;
  ctx.results.add({
    workload: 'small',
    cell: `${sizeName(size)} c=${c}`,
    target: name,
    value: r.rps,
    unit: 'req/s',
    higherIsBetter: true,
    p50: r.p50,
    p99: r.p99,
    cpuPerGiB: cpu / (r.bytes / GiB),
  });
}

/** Reads every small object once through `target` (the fills of a cold cache), 8 at a time. */
async function readAllSmall(ctx: Context, target: Target): Promise<void> {
  for (const size of ctx.plan.small.sizes) {
    const keys = Array.from({ length: ctx.plan.small.objects }, (_, i) => smallKey(size, i));
    const urls = await presignUrls(target.url, keys);
    const lists = Array.from({ length: 8 }, (_, i) => urls.filter((_, j) => j % 8 === i));
    await curlClients(lists, size);
  }
}

export async function runThroughput(ctx: Context): Promise<void> {
  const { plan, origin, ceiling, nginx } = ctx;
  const cells = ctx.large ? largeCells(plan) : [];
  const smallSizes = ctx.small ? plan.small.sizes : [];
  const volume = await tempDir('kura-bench-volume-');
  try {
    console.log('large objects, cold: the first read of each object');
    let kura = await startKura(origin.url, volume, { ramSize: plan.ramSize });
    for (const { c, keys } of cells) {
      await largeCell(ctx, 'large cold', origin, 'direct', c, keys, 1);
      await largeCell(ctx, 'large cold', kura, 'kura cold', c, keys, 1);
      await largeCell(ctx, 'large cold', nginx, 'nginx cold', c, keys, 1);
    }
    const fills = await origin.stats();
    console.log(`  (origin: ${fills.requests} requests, ${(fills.bodyBytes / MiB).toFixed(0)} MiB sent)`);
    if (ctx.small) {
      await readAllSmall(ctx, kura);
      await readAllSmall(ctx, nginx);
    }

    console.log('large objects, warm');
    for (const { c, keys } of cells) {
      await largeCell(ctx, 'large warm', origin, 'direct', c, keys, plan.large.rounds);
      await largeCell(ctx, 'large warm', ceiling, 'ceiling', c, keys, plan.large.rounds);
      await largeCell(ctx, 'large warm', nginx, 'nginx warm', c, keys, plan.large.rounds);
      await largeCell(ctx, 'large warm', kura, 'kura warm ram', c, keys, plan.large.rounds);
    }
    console.log('small objects, warm');
    for (const size of smallSizes) {
      for (const c of plan.small.concurrency) {
        await smallCell(ctx, origin, 'direct', size, c);
        await smallCell(ctx, ceiling, 'ceiling', size, c);
        await smallCell(ctx, nginx, 'nginx warm', size, c);
        await smallCell(ctx, kura, 'kura warm ram', size, c);
      }
    }
    await origin.stats();
    await kura.stop();

    console.log('kura again on the same volume, RAM tier off: warm answers from the files');
    kura = await startKura(origin.url, volume, { ramSize: 0 });
    for (const { c, keys } of cells)
      await largeCell(ctx, 'large warm', kura, 'kura warm disk', c, keys, plan.large.rounds);
    for (const size of smallSizes) {
      for (const c of plan.small.concurrency) await smallCell(ctx, kura, 'kura warm disk', size, c);
    }
    const asked = await origin.stats();
    await kura.stop();
    ctx.results.notes.push(
      `Warm Kura runs sent ${asked.requests} requests to the origin (RAM-tier-off phase); 0 means every answer was a hit.`,
    );
  } finally {
    await rm(volume, { recursive: true, force: true });
  }
}
