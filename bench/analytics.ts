// Workload 3: data-lake queries by real engines (bench/engines.ts) against an S3-like origin (first-byte
// latency with jitter, a per-request cost, a per-connection bandwidth cap). Query times straight to the
// origin, through a cold Kura (the first query on a fresh volume) and through the same Kura warm (the
// query repeated), with the requests and bytes the origin saw for each.

import { rm } from 'node:fs/promises';
import { fileSize, MiB, parquetFile } from './data.js';
import { duckdbCase } from './duckdb.js';
import { ANALYTICS_KEY, type AnalyticsCase, footerScan, hyparquetColumns, polarsLake } from './engines.js';
import { lakeFiles } from './lake.js';
import type { Plan, Results } from './plan.js';
import { type Origin, startKura, type Target, tempDir } from './targets.js';

/** How long Kura keeps a listing here: what an operator would choose for tables written daily. */
const LIST_TTL = '5m';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/**
 * Stores the inputs (generated once, then reused from bench/.cache) at every origin; the cases to run,
 * and for each case that cannot run here, why.
 */
export async function prepareAnalytics(
  plan: Plan,
  origins: Origin[],
): Promise<{ cases: AnalyticsCase[]; skipped: string[] }> {
  const { analytics } = plan;
  const path = await parquetFile(analytics);
  const lake = await lakeFiles(analytics.lake);
  for (const origin of origins) {
    await origin.putFile(ANALYTICS_KEY, path);
    for (const f of lake) await origin.putFile(f.key, f.path);
  }
  const cases = [
    polarsLake(analytics.lake),
    footerScan(analytics.lake),
    hyparquetColumns(await fileSize(path), analytics.rows / analytics.rowGroupSize),
  ];
  const duck = await duckdbCase(
    analytics.lake,
    lake.map((f) => f.key),
  );
  if (typeof duck === 'string') return { cases, skipped: [duck] };
  return { cases: [...cases, duck], skipped: [] };
}

interface Run {
  ms: number;
  count: number;
  requests: number;
  bytes: number;
  /** CPU time of this process (the engine, its threads included) during the query, ms. */
  engineCpuMs: number;
  /** CPU time of the server asked (`server`), ms; null when none was given. */
  serverCpuMs: number | null;
}

/** One query against `endpoint`, with what `origin` saw meanwhile and the CPU time `server` spent. */
async function timed(c: AnalyticsCase, endpoint: string, origin: Origin, server?: Target): Promise<Run> {
  await c.setUp?.();
  await origin.stats();
  const serverCpu = server?.cpu();
  const cpu = process.cpuUsage();
  const t = performance.now();
  const count = await c.run(endpoint);
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const serverCpuMs =
    serverCpu === undefined || server === undefined ? null : (server.cpu() - serverCpu) * 1000;
  const seen = await origin.stats();
  if (seen.failures > 0) throw new Error(`${c.name}: the origin refused ${seen.failures} requests`);
  return {
    ms,
    count,
    requests: seen.requests,
    bytes: seen.bodyBytes,
    engineCpuMs: (used.user + used.system) / 1000,
    serverCpuMs,
  };
}

/** The CPU time per query (median) of the engine, and of Kura when it was asked. */
const cpuNote = (runs: Run[]) => {
  const engine = median(runs.map((r) => r.engineCpuMs));
  const servers = runs.flatMap((r) => (r.serverCpuMs === null ? [] : [r.serverCpuMs]));
  const kura = servers.length === 0 ? '' : `, Kura ${median(servers).toFixed(0)} ms`;
  return `CPU: engine ${engine.toFixed(0)} ms${kura}`;
};

const seenNote = (runs: Run[]) => {
  const requests = median(runs.map((r) => r.requests));
  const bytes = median(runs.map((r) => r.bytes));
  return `origin: ${requests} req, ${(bytes / MiB).toFixed(2)} MiB per query; ${cpuNote(runs)}`;
};

/**
 * `origin` is S3-like; `floor` holds the same inputs at loopback speed: the engine's time against it (the
 * "ceiling" row) is the most any cache could win, since a cache removes the origin's waits, not the
 * engine's own work.
 */
export async function runAnalytics(
  plan: Plan,
  results: Results,
  origin: Origin,
  floor: Origin,
  cases: AnalyticsCase[],
): Promise<void> {
  const { repeats } = plan.analytics;
  for (const c of cases) {
    console.log(`analytics ${c.name}: ${c.reads}`);
    const first = await timed(c, floor.url, floor); // loads the engine's code, so that no timed query pays it
    const check = (run: Run, where: string) => {
      if (run.count !== first.count)
        throw new Error(`${c.name} ${where} counted ${run.count}, at loopback speed ${first.count}`);
      return run;
    };
    const direct: Run[] = [];
    const ceiling: Run[] = [];
    for (let i = 0; i < repeats; i++) {
      direct.push(check(await timed(c, origin.url, origin), 'direct'));
      ceiling.push(check(await timed(c, floor.url, floor), 'at loopback speed'));
    }
    const volume = await tempDir('kura-bench-volume-');
    // Listings kept as a data lake's operator would keep them (docs/caching.md, "Listings").
    const kura = await startKura(origin.url, volume, { listTtl: LIST_TTL });
    try {
      const cold = check(await timed(c, kura.url, origin, kura), 'through a cold kura');
      const warm: Run[] = [];
      for (let i = 0; i < repeats; i++)
        warm.push(check(await timed(c, kura.url, origin, kura), 'through kura'));
      const add = (target: string, runs: Run[]) =>
        results.add({
          workload: 'analytics',
          cell: `${c.name}: ${c.reads}`,
          target,
          value: median(runs.map((r) => r.ms)),
          unit: 'ms',
          higherIsBetter: false,
          note: target === 'ceiling' ? `loopback-speed origin; ${cpuNote(runs)}` : seenNote(runs),
        });
      add('direct', direct);
      add('ceiling', ceiling);
      add('kura cold', [cold]);
      add('kura warm ram', warm);
      results.notes.push(
        `analytics ${c.name}: every query counted ${first.count} (rows, or rows described).`,
      );
    } finally {
      await kura.stop();
      await rm(volume, { recursive: true, force: true });
    }
  }
}
