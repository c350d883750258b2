// The goals table of a run: each goal a ratio between two targets of one cell (or a figure), as the
// results file and its chart show them; NaN when the workload it reads did not run.

import type { Results } from './plan.js';
import { type Goal, timesBetter } from './report.js';

export function goalsOf(results: Results, quick: boolean): Goal[] {
  const r = results;
  const cellOf = (workload: string, test: (cell: string) => boolean = () => true) =>
    r.figures.find((f) => f.workload === workload && test(f.cell))?.cell ?? '';
  const large = cellOf('large warm');
  const largeCold = cellOf('large cold');
  const small64 = r.figures
    .filter((f) => f.workload === 'small' && f.cell.startsWith('64 KiB'))
    .map((f) => f.cell);
  const smallCell = small64.find((c) => c.endsWith('c=16')) ?? small64[0] ?? '';
  const scalingCell = small64.find((c) => c.endsWith('c=64')) ?? small64[small64.length - 1] ?? '';
  const small4 = cellOf('small', (c) => c.startsWith('4 KiB') && c.endsWith('c=16'));
  const ratio = (workload: string, cell: string, target: string, ref: string) => {
    const f = r.find(workload, cell, target);
    return f ? timesBetter(f, r.find(workload, cell, ref)) : Number.NaN;
  };
  const coldCell = cellOf('cold');
  const cpu = (target: string) => r.find('large cold', largeCold, target)?.cpuPerGiB ?? Number.NaN;
  const ttfbAdded = cellOf('cold ttfb', (c) => c.endsWith("added to direct's"));
  const herdCell = cellOf('herd', (c) => c.endsWith('origin bytes / size'));
  // The streaming memory, which invariant 5 bounds; with the default config the RAM tier adds its own
  // 512 MiB as a cold read fills it (the memory table shows both).
  const rss = r.figures.filter((f) => f.workload === 'memory' && f.cell.endsWith('RAM tier off'));
  // A cell's name within a goal's; nothing when its workload did not run (`--only`).
  const at = (cell: string) => (cell === '' ? '' : ` ${cell}`);
  const goals: Goal[] = [
    {
      name: `warm${at(large)}: kura ÷ ceiling`,
      measured: ratio('large warm', large, 'kura warm ram', 'ceiling'),
      goal: 0.8,
      kind: 'min',
      unit: '×',
    },
    {
      name: `warm${at(smallCell)}: kura 2 workers ÷ nginx (2 workers)`,
      measured: ratio('small', smallCell, 'kura 2 workers', 'nginx warm'),
      goal: 1,
      kind: 'min',
      unit: '×',
      reference: {
        measured: ratio('small', smallCell, 'ceiling 2 workers', 'nginx warm'),
        by: 'Node ceiling, 2 processes',
      },
    },
    {
      name: `warm${at(smallCell)}: kura 1 worker ÷ ceiling`,
      measured: ratio('small', smallCell, 'kura warm ram', 'ceiling'),
      goal: 0.8,
      kind: 'min',
      unit: '×',
    },
    {
      name: `warm${at(small4)}: kura 1 worker ÷ ceiling`,
      measured: ratio('small', small4, 'kura warm ram', 'ceiling'),
      goal: 0.8,
      kind: 'min',
      unit: '×',
    },
    {
      name: `scaling, warm${at(scalingCell)}: kura 2 workers ÷ 1 worker`,
      measured: ratio('small', scalingCell, 'kura 2 workers', 'kura warm ram'),
      goal: 1.6,
      kind: 'min',
      unit: '×',
      reference: {
        measured: ratio('small', scalingCell, 'ceiling 2 workers', 'ceiling'),
        by: 'Node ceiling, 2 processes ÷ 1',
      },
    },
    {
      name: `warm${at(large)}, RAM tier off: from the volume ÷ from RAM`,
      measured: ratio('large warm', large, 'kura warm disk', 'kura warm ram'),
      goal: 0.8,
      kind: 'min',
      unit: '×',
    },
    {
      name: `cold${at(largeCold)}, loopback: kura ÷ direct`,
      measured: ratio('large cold', largeCold, 'kura cold', 'direct'),
      goal: 0.9,
      kind: 'min',
      unit: '×',
      reference: { measured: ratio('large cold', largeCold, 'nginx cold', 'direct'), by: 'nginx' },
    },
    {
      name: `cold aggregate${at(coldCell)}: kura ÷ direct`,
      measured: ratio('cold', coldCell, 'kura cold', 'direct'),
      goal: 0.9,
      kind: 'min',
      unit: '×',
      reference: { measured: ratio('cold', coldCell, 'nginx cold', 'direct'), by: 'nginx' },
    },
    {
      name: `CPU s per cold GiB${largeCold === '' ? '' : ` (${largeCold})`}: kura ÷ nginx cold`,
      measured: cpu('kura cold') / cpu('nginx cold'),
      goal: 1,
      kind: 'max',
      unit: '×',
    },
    {
      name: 'time to first byte added, cold, p50',
      measured: r.find('cold ttfb', ttfbAdded, 'kura cold')?.value ?? Number.NaN,
      goal: 2,
      kind: 'max',
      unit: ' ms',
    },
  ];
  // The speed-up a cache can bring a query that waits on the origin: (a) and (b) mostly wait; (c) decodes
  // a large share of what it fetches in JavaScript.
  const speedUps: Record<string, number> = { a: 10, b: 10, c: 3 };
  for (const cell of new Set(r.figures.filter((f) => f.workload === 'analytics').map((f) => f.cell))) {
    const name = cell.split(': ').slice(0, 2).join(': '); // 'a: polars lake'
    const goal = speedUps[name[0] ?? ''];
    if (goal === undefined) continue;
    goals.push({
      name: `analytics ${name}, S3-like: warm ÷ direct`,
      measured: ratio('analytics', cell, 'kura warm ram', 'direct'),
      goal,
      kind: 'min',
      unit: '×',
      reference: {
        measured: ratio('analytics', cell, 'ceiling', 'direct'),
        by: 'the engine at loopback speed',
      },
    });
  }
  goals.push({
    name: 'herd: origin bytes ÷ object size',
    measured: r.find('herd', herdCell, 'kura cold')?.value ?? Number.NaN,
    goal: 1.25,
    kind: 'max',
    unit: '×',
  });
  const peak = rss.length ? Math.max(...rss.map((f) => f.value)) : Number.NaN;
  goals.push({
    name: `peak RSS, RAM tier off${quick ? ' (quick: small object)' : ''}`,
    measured: peak * 1.048576,
    goal: 200,
    kind: 'max',
    unit: ' MB',
  });
  return goals;
}
