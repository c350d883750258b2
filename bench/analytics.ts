// Workload 3: a real Parquet file read by real engines, with S3's first-byte latency (30 ms) at the
// origin. Query times straight to the origin, through a cold Kura (the first query on a fresh volume)
// and through the same Kura warm (the query repeated).

import { rm } from 'node:fs/promises';
import { fileSize, MiB, parquetFile } from './data.js';
import { ANALYTICS_KEY, ENGINES, type Engine } from './engines.js';
import type { Plan, Results } from './plan.js';
import { type Origin, startKura, tempDir } from './targets.js';

async function timed(engine: Engine, endpoint: string): Promise<{ ms: number; rows: number }> {
  const t = performance.now();
  const rows = await engine(endpoint);
  return { ms: performance.now() - t, rows };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Stores the Parquet file (generated once, then reused from bench/.cache) at the origin. */
export async function prepareAnalytics(plan: Plan, origin: Origin): Promise<number> {
  const path = await parquetFile(plan.analytics);
  await origin.putFile(ANALYTICS_KEY, path);
  return fileSize(path);
}

/**
 * `origin` has S3's first-byte latency; `floor` is an origin with the same file and none: the engine's
 * time against it (the "ceiling" row) is the most any cache could win, since a cache removes latency,
 * not the engine's own work.
 */
export async function runAnalytics(
  plan: Plan,
  results: Results,
  origin: Origin,
  floor: Origin,
  bytes: number,
): Promise<void> {
  const { repeats } = plan.analytics;
  const cell = `${(bytes / MiB).toFixed(0)} MiB, ${plan.analytics.rows / plan.analytics.rowGroupSize} row groups`;
  for (const [name, engine] of Object.entries(ENGINES)) {
    await timed(engine, origin.url); // loads the engine's code, so that the first timed query does not pay it
    const direct: number[] = [];
    const ceiling: number[] = [];
    let rows = -1;
    for (let i = 0; i < repeats; i++) {
      const r = await timed(engine, origin.url);
      direct.push(r.ms);
      rows = r.rows;
      const f = await timed(engine, floor.url);
      if (f.rows !== rows) throw new Error(`${name} found ${f.rows} rows without latency, ${rows} with`);
      ceiling.push(f.ms);
    }
    const volume = await tempDir('kura-bench-volume-');
    const kura = await startKura(origin.url, volume);
    try {
      await origin.stats();
      const cold = await timed(engine, kura.url);
      const fills = await origin.stats();
      const warm: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const r = await timed(engine, kura.url);
        if (r.rows !== rows) throw new Error(`${name} through kura found ${r.rows} rows, direct ${rows}`);
        warm.push(r.ms);
      }
      if (cold.rows !== rows)
        throw new Error(`${name} through cold kura found ${cold.rows} rows, direct ${rows}`);
      const add = (target: string, ms: number) =>
        results.add({
          workload: 'analytics',
          cell: `${name}: ${cell}`,
          target,
          value: ms,
          unit: 'ms',
          higherIsBetter: false,
        });
      add('direct', median(direct));
      add('ceiling', median(ceiling));
      add('kura cold', cold.ms);
      add('kura warm ram', median(warm));
      const again = await origin.stats();
      results.notes.push(
        `analytics, ${name}: ${rows} rows per query; the cold query through Kura asked the origin ` +
          `${fills.requests} times (${(fills.bodyBytes / MiB).toFixed(1)} MiB), the ${repeats} warm ones ` +
          `${again.requests} times (${(again.bodyBytes / MiB).toFixed(1)} MiB).`,
      );
    } finally {
      await kura.stop();
      await rm(volume, { recursive: true, force: true });
    }
  }
}
