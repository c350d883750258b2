// The benchmark harness: one command that starts every target, runs every workload side by side, and
// writes bench/results/<date>.md (tables with ratios to the direct origin and the Node ceiling) and
// <date>.svg (the goals); `<date>-2` and on when the day has results already, so no run replaces another.
//
//   npm run bench                     the full run (about 12 minutes)
//   npm run bench -- --quick          a smoke run for CI (under a minute): small sizes, 1 s cells;
//                                     written under bench/.cache/results, it fails only if the harness breaks
//   npm run bench -- --only large,small,cold,analytics,herd,memory
//   npm run bench -- --profile        CPU profiles of Kura's hot paths (bench/profile.ts)

import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ext4Journal } from '../src/store/local-fs.js';
import { prepareAnalytics, runAnalytics } from './analytics.js';
import { runColdAggregate, runColdTtfb } from './cold.js';
import { CACHE_DIR } from './data.js';
import { goalsOf } from './goals.js';
import { runHerd, runMemory } from './herd-memory.js';
import { makePlan, Results } from './plan.js';
import { runProfiles } from './profile.js';
import { goalsSvg, machine, markdown } from './report.js';
import { startCeiling, startNginx, startOrigin, type Target } from './targets.js';
import { runThroughput, throughputObjects } from './throughput.js';
import { run } from './tools.js';

const WORKLOADS = ['large', 'small', 'cold', 'analytics', 'herd', 'memory'] as const;

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const only = argv.find((a) => a.startsWith('--only'));
  const value = only?.includes('=') ? only.split('=')[1] : argv[argv.indexOf('--only') + 1];
  const chosen = only ? (value ?? '').split(',') : [...WORKLOADS];
  const unknown = chosen.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
  if (unknown.length)
    throw new Error(`unknown workload ${unknown.join(', ')} (known: ${WORKLOADS.join(', ')})`);
  return { quick, profile, workloads: new Set(chosen) };
}

/** Fails early, naming the set-up script, when a tool the harness drives is missing. */
async function checkTools(): Promise<void> {
  for (const [cmd, args] of [
    ['wrk', ['-v']],
    ['curl', ['--version']],
    ['nginx', ['-v']],
  ] as const) {
    await run(cmd, [...args]).catch((err: Error) => {
      // wrk -v exits 1 after printing its version.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `${cmd} is not installed: run scripts/bench-setup.sh (Debian packages nginx, wrk, curl)`,
        );
      }
    });
  }
}

async function profileOnly(): Promise<void> {
  const origin = await startOrigin();
  const workDir = await mkdtemp(join(tmpdir(), 'kura-bench-'));
  try {
    const lines = await runProfiles(origin, workDir);
    console.log(lines.join('\n'));
    const date = new Date().toISOString().slice(0, 10);
    const dir = fileURLToPath(new URL('../../bench/results', import.meta.url));
    const file = join(dir, `${await unusedName(dir, `${date}-profile`)}.md`);
    const md = [
      `# Kura CPU profiles, ${date}`,
      '',
      '`npm run bench -- --profile`: self time per function of `kura serve` under `node --cpu-prof`, one',
      'scenario per process (the process start is in each). Shares are of all samples, idle included.',
      '',
      '```',
      ...lines.map((l) => l.replace(/: \/.*\/bench\/\.cache\//, ': bench/.cache/')),
      '```',
      '',
    ];
    await writeFile(file, md.join('\n'));
    await formatAsChecked(file);
    console.log(`\nwrote ${file}`);
  } finally {
    await origin.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { quick, profile, workloads } = parseArgs(process.argv.slice(2));
  if (profile) {
    await profileOnly();
    return;
  }
  const plan = makePlan(quick);
  const started = performance.now();
  const loadAtStart = loadavg();
  await checkTools();
  if (ext4Journal(tmpdir()) === 'none') {
    console.log(
      `note: ${tmpdir()} is on ext4 without a journal: every file made costs more while others are removed, and the cold cells pay for it (bench/README.md, "The volume's file system"; scripts/bench-tmpdir.sh makes a journaled TMPDIR)`,
    );
  }
  const results = new Results();
  const workDir = await mkdtemp(join(tmpdir(), 'kura-bench-'));
  const stops: (() => Promise<void>)[] = [];
  const own = <T extends Target>(t: T): T => {
    stops.push(() => t.stop());
    return t;
  };
  try {
    console.log(`kura benchmarks${quick ? ' (quick)' : ''}: ${[...workloads].join(', ')}`);
    if (workloads.has('large') || workloads.has('small') || workloads.has('cold')) {
      // Loopback speed: these cells measure Kura's own cost.
      const origin = own(await startOrigin());
      const nginx = own(await startNginx(origin.url));
      if (workloads.has('large') || workloads.has('small')) {
        const objects = throughputObjects(plan);
        for (const o of objects) await origin.put(o.key, o.size);
        const ceiling = own(await startCeiling(objects));
        await runThroughput({
          plan,
          results,
          workDir,
          origin,
          ceiling,
          nginx,
          large: workloads.has('large'),
          small: workloads.has('small'),
        });
      }
      if (workloads.has('cold')) await runColdTtfb(plan, results, origin, nginx);
    }
    if (workloads.has('memory')) await runMemory(plan, results);
    if (workloads.has('cold') || workloads.has('analytics') || workloads.has('herd')) {
      // The origin as a client in S3's region meets it (test/support/memory-origin-profile.ts).
      const s3 = own(await startOrigin(plan.s3like));
      if (workloads.has('cold') || workloads.has('herd')) {
        const nginx = own(await startNginx(s3.url));
        if (workloads.has('cold')) await runColdAggregate(plan, results, s3, nginx);
        if (workloads.has('herd')) await runHerd(plan, results, s3, nginx);
      }
      if (workloads.has('analytics')) {
        const floor = own(await startOrigin());
        const { cases, skipped } = await prepareAnalytics(plan, [s3, floor]);
        results.notes.push(...skipped);
        await runAnalytics(plan, results, s3, floor, cases);
      }
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(workDir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - started) / 1000;
  const date = new Date().toISOString().slice(0, 10);
  const dir = quick
    ? join(CACHE_DIR, 'results')
    : fileURLToPath(new URL('../../bench/results', import.meta.url));
  await mkdir(dir, { recursive: true });
  const partial = workloads.size < WORKLOADS.length;
  // A run of some workloads is named for them: it must not replace the day's full run.
  const name = await unusedName(
    dir,
    `${date}${partial ? `-${[...workloads].join('-')}` : ''}${quick ? '-quick' : ''}`,
  );
  const goals = goalsOf(results, quick);
  const title = `Kura benchmarks, ${date}${quick ? ' (quick smoke run: sizes too small for the goals)' : ''}`;
  await writeFile(
    join(dir, `${name}.svg`),
    goalsSvg(goals, `Kura against its goals, ${date}${quick ? ' (quick)' : ''}`),
  );
  const md = markdown({
    title,
    command: `npm run bench${quick ? ' -- --quick' : ''}${partial ? ` (--only ${[...workloads].join(',')})` : ''}`,
    results,
    goals,
    machineLines: machine(loadAtStart),
    chartFile: `${name}.svg`,
    seconds,
  });
  await writeFile(join(dir, `${name}.md`), md);
  if (!quick) await formatAsChecked(join(dir, `${name}.md`));
  console.log(`\nwrote ${join(dir, `${name}.md`)} and ${name}.svg (${seconds.toFixed(0)} s)`);
}

await main();

/**
 * Results files are committed, and `npm test` checks every file's format: tables are written plainly
 * here and laid out by the checker's own formatter.
 */
async function formatAsChecked(file: string): Promise<void> {
  const biome = fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url));
  await run(biome, ['format', '--write', file]).catch((err: Error) =>
    console.warn(`${file} left as written: ${err.message}`),
  );
}

/** `base`, or `base-2`, `base-3`…: the first with no results file in `dir`, so that a run replaces none. */
async function unusedName(dir: string, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    const taken = await access(join(dir, `${name}.md`)).then(
      () => true,
      () => false,
    );
    if (!taken) return name;
  }
}
