// The results file of a run: the goals as ratios, the machine, the method, one table per workload with
// ratios to the direct origin and to the Node ceiling, and an SVG chart of the goals (drawn here, no
// chart library).

import { spawnSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { ext4Journal, fileSystemName } from '../src/store/local-fs.js';
import type { Figure, Results } from './plan.js';

export interface Goal {
  name: string;
  /** The measured ratio, or NaN when a workload did not run. */
  measured: number;
  goal: number;
  /** 'min': the measured ratio must reach the goal; 'max': it must stay under it. */
  kind: 'min' | 'max';
  unit: string;
  /**
   * The same ratio with another server in Kura's place, from the same run: the Node ceiling (what a
   * node:http server reaches here, so a bound on Kura's figure), nginx, or the engine against a
   * loopback-speed origin (what no cache can beat).
   */
  reference?: { measured: number; by: string };
}

export function goalMet(g: Goal): boolean {
  return g.kind === 'min' ? g.measured >= g.goal : g.measured <= g.goal;
}

/** How many times better than `ref` a figure is (> 1: better), whatever its unit's direction. */
export function timesBetter(f: Figure, ref: Figure | undefined): number {
  if (!ref) return Number.NaN;
  return f.higherIsBetter ? f.value / ref.value : ref.value / f.value;
}

const num = (n: number | undefined, digits = 2) =>
  n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits);
const big = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The first line a tool prints of its version, on stdout or stderr (nginx -v uses stderr). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd}: not found`;
  const line = `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? cmd;
  return line.split(' ').slice(0, 3).join(' ');
}

export function machine(loadAtStart: number[]): string[] {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const kernel = readFileSync('/proc/version', 'utf8').split(' ').slice(0, 3).join(' ');
  return [
    `- CPU: ${cpus().length} × ${cpu}; memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${kernel}`,
    `- Node ${process.version}; ${version('nginx', ['-v'])}; ${version('wrk', ['-v'])}; ${version('curl', ['--version'])}`,
    `- Volumes, nginx's cache and every temporary file in ${tmpdir()} (\`TMPDIR\`): ${fileSystem(tmpdir())}`,
    `- Load average (1, 5, 15 min) at the start: ${loadAtStart.map((l) => l.toFixed(2)).join(', ')}; at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}. The machine is shared: absolute figures drift, ratios within the run hold better.`,
  ];
}

/** The file system of `dir` as the results name it: its type, and for ext4 whether it has a journal. */
function fileSystem(dir: string): string {
  const name = fileSystemName(statfsSync(dir).type);
  const journal = ext4Journal(dir);
  if (journal === null) return name;
  return journal === 'journal'
    ? `${name} with a journal`
    : `${name} without a journal (docs/volume.md: each new file costs more; bench/README.md gives the figures)`;
}

const METHOD = `- Every target runs in its own process on loopback, started and stopped by the harness: the
  verifying in-memory S3 origin (\`test/support/memory-origin.ts\`, SigV4 checked on every request, in
  \`bench/origin-process.ts\`); the **ceiling**, a trivial Node server answering from memory with no checks
  (\`bench/ceiling-server.ts\`); **nginx** from Debian with \`proxy_cache\` (\`scripts/bench-nginx.sh\`, the
  configuration of TESTING-NOTES.md, cache key without the presigned query); **Kura** as the real
  \`node bin/kura.js serve\` with its override pointing at the origin, on a fresh volume in the temporary
  directory (the machine section names its file system).
- **direct** is the origin itself: its row against the ceiling is the origin's own ceiling.
- **kura cold** is the first read of an object on a fresh volume; **kura warm ram** the same process
  afterwards (the RAM tier sized to hold every object of the run, and warmed by uncounted reads of the
  large objects until one pass costs the origin nothing: a chunk enters the tier when it is read again,
  never from a fill); **kura warm disk** a second Kura
  process on the same volume, running beside the first, with \`cache.ram_size: 0\` (the files are in the
  OS page cache: this is Kura's own file-serving path, not the disk's speed). In the small cells,
  **kura 2 workers** is a group of two worker processes, and **kura gateway** a Kura of one worker whose
  gateway listener serves the bucket on a public route (docs/gateway.md): plain GETs, Kura holding the
  credentials, hits of the same entries from its RAM tier; and **ceiling 2 workers** the ceiling in two
  processes sharing the port through node:cluster, as Kura's workers do.
- Warm cells interleave the targets: large objects in rounds (each target once per round), small ones in
  slices of a third of the cell's time, so that a burst of load from the machine's other users falls on
  every target alike; figures are summed over rounds or slices.
- Large objects: in each round, one curl process per client fetches its own object once, all clients at
  once; MiB/s over the summed wall clock of the rounds; the latency column is the median transfer time
  and the longest one. CPU s/GiB is the user+system time of the target's own processes
  (\`/proc/<pid>/stat\`; nginx's master and workers) per GiB served.
- Small objects: wrk with a Lua script cycling presigned URLs (signed for the target's host), after a
  warm-up run; every object was read once through Kura and nginx before (the fills).
- Ranges: the same wrk, each request for 64 KiB at a random offset (seeded per wrk thread) of one of the
  large objects, after the large warm cells.
- The **S3-like origin** (\`S3_LIKE\`, \`test/support/memory-origin-profile.ts\`; bench/README.md gives the
  model and its sources): each answer's headers after 30 ± 10 ms (seeded jitter) plus 2 ms per request,
  bodies paced at 90 MB/s per connection. The cold aggregate, herd and analytics cells use it; the cells
  that measure Kura's own cost (large, small, the time to first byte Kura adds, memory) run at loopback
  speed.
- Cold aggregate: 8 curl processes at once, each reading its own cold object once, S3-like origin; total
  MiB/s over the wall clock, CPU s/GiB of the target's processes, the origin's bytes ÷ the bytes served.
- Cold time to first byte: small cold objects at loopback speed, each read once direct, through Kura and
  through nginx (order rotating object by object) by one curl process on kept-alive connections; curl's
  \`time_starttransfer\`; "added" is, per object, the target's time minus direct's (p50, p99).
- Analytics: data-lake queries against the S3-like origin: (a) polars \`scanParquet\` over a
  hive-partitioned lake, its predicate pruning partitions and row groups; (b) a listing and every file's
  footer (hyparquet); (c) hyparquet reading three columns of one large file; (d) DuckDB-wasm 1.28.0
  running (a)'s query over the lake's file list. Each case runs once against a loopback-speed origin to
  load its code, then N times direct (median), then on a fresh Kura keeping listings for 5 minutes
  (\`cache.list_ttl\`, docs/caching.md): once cold, N times warm (median).
  Its **ceiling** row is the same query against a loopback-speed origin (median of N): the most a cache
  could win, since it removes the origin's waits, not the engine's own work. Counts are checked equal;
  the note gives the requests and bytes the origin saw per query, and the CPU time per query of the
  engine (the harness's process, its threads included) and of Kura.
- Herd: N curl processes start the same cold object at once (S3-like origin); time to the last byte, and
  body bytes the origin sent divided by the object size.
- Memory: VmHWM of a fresh Kura process after one whole GET of the object cold, then of another fresh
  process on the same volume after one warm GET. The object streams from a ceiling-server process that
  makes its bytes on the fly (the verifying origin holds objects in one Buffer, which stops short of
  4 GiB).
- Ratios "× direct" and "× ceiling" read "times better than": throughput ÷ reference, or reference time ÷
  time, so that above 1 is better for every unit.`;

function workloadTable(results: Results, workload: string): string[] {
  const figures = results.figures.filter((f) => f.workload === workload);
  const cells = [...new Set(figures.map((f) => f.cell))];
  const showCpu = figures.some((f) => f.cpuPerGiB !== undefined);
  const showLat = figures.some((f) => f.p50 !== undefined);
  const head = ['cell', 'target', figures[0]?.unit ?? '', '× direct', '× ceiling'];
  if (showLat) head.push(/^(large|cold$)/.test(workload) ? 'transfer p50/max ms' : 'p50/p99 ms');
  if (showCpu) head.push('CPU s/GiB');
  if (figures.some((f) => f.note)) head.push('note');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const cell of cells) {
    const direct = results.find(workload, cell, 'direct');
    const ceiling = results.find(workload, cell, 'ceiling');
    for (const f of figures.filter((x) => x.cell === cell)) {
      const row = [
        cell,
        String(f.target),
        `${big(f.value)} ${f.unit}`,
        num(timesBetter(f, direct)),
        num(timesBetter(f, ceiling)),
      ];
      if (showLat) row.push(f.p50 === undefined ? '' : `${num(f.p50)}/${num(f.p99)}`);
      if (showCpu) row.push(num(f.cpuPerGiB));
      if (head.includes('note')) row.push(f.note ?? '');
      lines.push(`| ${row.join(' | ')} |`);
    }
  }
  return lines;
}

export function markdown(opts: {
  title: string;
  command: string;
  results: Results;
  goals: Goal[];
  machineLines: string[];
  chartFile: string;
  seconds: number;
}): string {
  const { results, goals } = opts;
  const out: string[] = [
    `# ${opts.title}`,
    '',
    `\`${opts.command}\` — ${opts.seconds.toFixed(0)} s in all.`,
    '',
  ];
  out.push('## Goals, as ratios in this run', '');
  out.push('| goal | measured | wanted | met | the same ratio for |', '|---|---|---|---|---|');
  for (const g of goals) {
    const met = Number.isNaN(g.measured) ? 'not run' : goalMet(g) ? 'yes' : 'no';
    const ref =
      g.reference === undefined || Number.isNaN(g.reference.measured)
        ? ''
        : `${g.reference.by}: ${big(g.reference.measured)}${g.unit}`;
    out.push(
      `| ${g.name} | ${big(g.measured)}${g.unit} | ${g.kind === 'min' ? '≥' : '≤'} ${g.goal}${g.unit} | ${met} | ${ref} |`,
    );
  }
  out.push(
    '',
    `![goals](${opts.chartFile})`,
    '',
    "The last column is the same ratio with another server in Kura's place, in this run: the Node ceiling",
    "(a trivial node:http server answering from memory, in as many processes as Kura's figure uses: what",
    'a server built on node:http, as Kura is, reaches on this machine), nginx, or the engine against an',
    'origin at loopback speed (no cache makes a query faster than that). The chart marks it with a black line.',
    '',
    'Where the time goes for a goal missed, and what would close the gap: bench/README.md, "Where the',
    'time goes"; CPU profiles of the hot paths: `npm run bench -- --profile` (bench/results/*-profile.md).',
    '',
    '## Machine',
    '',
    ...opts.machineLines,
    '',
    '## Method',
    '',
    METHOD,
    '',
  );
  const workloads = [...new Set(results.figures.map((f) => f.workload))];
  for (const w of workloads) out.push(`## ${w}`, '', ...workloadTable(results, w), '');
  if (results.notes.length) out.push('## Notes', '', ...results.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One bar per goal: how far the measured ratio goes towards the goal (1 = just met, the dashed line),
 * on a log scale from 1/10 to 10 times the goal; green when met.
 */
export function goalsSvg(goals: Goal[], title: string): string {
  const rowH = 34;
  const left = 330;
  const width = 900;
  const plotW = width - left - 140;
  const top = 50;
  const height = top + goals.length * rowH + 40;
  const x = (score: number) => left + ((Math.log10(Math.min(10, Math.max(0.1, score))) + 1) / 2) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const tick of [0.1, 0.25, 0.5, 1, 2, 4, 10]) {
    const tx = x(tick);
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 34}" stroke="${tick === 1 ? '#333' : '#ddd'}" ${tick === 1 ? 'stroke-dasharray="5,3"' : ''}/>`,
      `<text x="${tx}" y="${height - 18}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  parts.push(
    `<text x="${left + plotW / 2}" y="${height - 2}" text-anchor="middle" fill="#555">measured ÷ goal (≥ 1 met; log scale)</text>`,
  );
  goals.forEach((g, i) => {
    const y = top + i * rowH;
    const score = g.kind === 'min' ? g.measured / g.goal : g.goal / g.measured;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(g.name)}</text>`);
    if (Number.isNaN(score)) {
      parts.push(`<text x="${left + 4}" y="${y + 17}" fill="#888">not run</text>`);
      return;
    }
    const color = goalMet(g) ? '#2e8b57' : '#c0392b';
    parts.push(
      `<rect x="${x(0.1)}" y="${y + 4}" width="${Math.max(1, x(score) - x(0.1))}" height="${rowH - 10}" fill="${color}"/>`,
      `<text x="${x(score) + 6}" y="${y + 17}">${esc(`${big(g.measured)}${g.unit} (goal ${g.kind === 'min' ? '≥' : '≤'} ${g.goal}${g.unit})`)}</text>`,
    );
    const ref = g.reference?.measured ?? Number.NaN;
    if (!Number.isNaN(ref)) {
      const rx = x(g.kind === 'min' ? ref / g.goal : g.goal / ref);
      parts.push(
        `<line x1="${rx}" y1="${y + 1}" x2="${rx}" y2="${y + rowH - 3}" stroke="#000" stroke-width="3"><title>${esc(`${g.reference?.by}: ${big(ref)}${g.unit}`)}</title></line>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
