// The goals table reads the right cells: cold throughput at loopback speed and S3-like, CPU per cold GiB
// against nginx, the time to first byte Kura adds, and each analytics case's warm speed-up against its
// own bound (10× for a and b, 3× for c, none for d); a workload that did not run leaves its goals NaN.
// Beside a goal, the same ratio for a reference from the run: the Node ceiling in two processes, nginx,
// or the engine against a loopback-speed origin.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goalsOf } from '../../../bench/goals.js';
import { type Figure, Results } from '../../../bench/plan.js';

function results(figures: Omit<Figure, 'unit'>[]): Results {
  const r = new Results();
  for (const f of figures) r.figures.push({ unit: 'x', ...f });
  return r;
}

const byName = (r: Results) => new Map(goalsOf(r, false).map((g) => [g.name, g]));

describe('goals', () => {
  const r = results([
    { workload: 'large cold', cell: '256 MiB c=1', target: 'direct', value: 1000, higherIsBetter: true },
    {
      workload: 'large cold',
      cell: '256 MiB c=1',
      target: 'kura cold',
      value: 450,
      higherIsBetter: true,
      cpuPerGiB: 3,
    },
    {
      workload: 'large cold',
      cell: '256 MiB c=1',
      target: 'nginx cold',
      value: 300,
      higherIsBetter: true,
      cpuPerGiB: 2,
    },
    { workload: 'cold', cell: '8 clients', target: 'direct', value: 700, higherIsBetter: true },
    { workload: 'cold', cell: '8 clients', target: 'kura cold', value: 665, higherIsBetter: true },
    { workload: 'cold ttfb', cell: 'ttfb', target: 'kura cold', value: 9, higherIsBetter: false },
    {
      workload: 'cold ttfb',
      cell: "ttfb: added to direct's",
      target: 'kura cold',
      value: 1.5,
      higherIsBetter: false,
    },
    ...['a: polars lake: x', 'b: footer scan: y', 'c: hyparquet columns: z', 'd: duckdb lake: w'].flatMap(
      (cell) => [
        { workload: 'analytics', cell, target: 'direct', value: 1000, higherIsBetter: false },
        { workload: 'analytics', cell, target: 'kura warm ram', value: 200, higherIsBetter: false },
      ],
    ),
  ]);
  const goals = byName(r);

  test('cold throughput: loopback c=1 and S3-like aggregate, Kura over direct', () => {
    assert.equal(goals.get('cold 256 MiB c=1, loopback: kura ÷ direct')?.measured, 0.45);
    assert.equal(goals.get('cold aggregate 8 clients: kura ÷ direct')?.measured, 0.95);
  });

  test("CPU per cold GiB is Kura's over nginx's, a ceiling of 1", () => {
    const g = goals.get('CPU s per cold GiB (256 MiB c=1): kura ÷ nginx cold');
    assert.deepEqual([g?.measured, g?.goal, g?.kind], [1.5, 1, 'max']);
  });

  test('the added time to first byte is the p50 of the per-object differences', () => {
    const g = goals.get('time to first byte added, cold, p50');
    assert.deepEqual([g?.measured, g?.goal, g?.kind], [1.5, 2, 'max']);
  });

  test('analytics speed-ups against 10×, 10× and 3×; DuckDB has no goal', () => {
    const wanted = [...goals.values()].filter((g) => g.name.startsWith('analytics'));
    assert.deepEqual(
      wanted.map((g) => [g.name, g.measured, g.goal]),
      [
        ['analytics a: polars lake, S3-like: warm ÷ direct', 5, 10],
        ['analytics b: footer scan, S3-like: warm ÷ direct', 5, 10],
        ['analytics c: hyparquet columns, S3-like: warm ÷ direct', 5, 3],
      ],
    );
  });

  const row = (cell: string, target: string, value: number) => ({
    workload: 'small',
    cell,
    target,
    value,
    higherIsBetter: true,
  });
  const small = byName(
    results([
      row('64 KiB c=16', 'ceiling', 30_000),
      row('64 KiB c=16', 'nginx warm', 32_000),
      row('64 KiB c=16', 'kura warm ram', 12_000),
      row('64 KiB c=16', 'kura 2 workers', 16_000),
      row('64 KiB c=16', 'ceiling 2 workers', 24_000),
      row('64 KiB c=64', 'ceiling', 20_000),
      row('64 KiB c=64', 'ceiling 2 workers', 25_000),
      row('64 KiB c=64', 'kura warm ram', 10_000),
      row('64 KiB c=64', 'kura 2 workers', 17_000),
      row('4 KiB c=16', 'ceiling', 50_000),
      row('4 KiB c=16', 'kura warm ram', 20_000),
    ]),
  );

  test('workers: 2 workers against nginx and against 1 worker, 1 worker against the ceiling', () => {
    assert.equal(small.get('warm 64 KiB c=16: kura 2 workers ÷ nginx (2 workers)')?.measured, 0.5);
    assert.equal(small.get('warm 64 KiB c=16: kura 1 worker ÷ ceiling')?.measured, 0.4);
    assert.equal(small.get('warm 4 KiB c=16: kura 1 worker ÷ ceiling')?.measured, 0.4);
    assert.equal(small.get('scaling, warm 64 KiB c=64: kura 2 workers ÷ 1 worker')?.measured, 1.7);
  });

  test("the ceiling's two processes give the two workers' goals their bound", () => {
    assert.deepEqual(small.get('warm 64 KiB c=16: kura 2 workers ÷ nginx (2 workers)')?.reference, {
      measured: 0.75,
      by: 'Node ceiling, 2 processes',
    });
    assert.deepEqual(small.get('scaling, warm 64 KiB c=64: kura 2 workers ÷ 1 worker')?.reference, {
      measured: 1.25,
      by: 'Node ceiling, 2 processes ÷ 1',
    });
  });

  test('nginx beside the cold goals, the engine at loopback speed beside the analytics goals', () => {
    assert.equal(goals.get('cold 256 MiB c=1, loopback: kura ÷ direct')?.reference?.measured, 0.3);
    const withFloor = byName(
      results([
        {
          workload: 'analytics',
          cell: 'b: footer scan: y',
          target: 'direct',
          value: 1000,
          higherIsBetter: false,
        },
        {
          workload: 'analytics',
          cell: 'b: footer scan: y',
          target: 'ceiling',
          value: 250,
          higherIsBetter: false,
        },
        {
          workload: 'analytics',
          cell: 'b: footer scan: y',
          target: 'kura warm ram',
          value: 200,
          higherIsBetter: false,
        },
      ]),
    );
    assert.deepEqual(withFloor.get('analytics b: footer scan, S3-like: warm ÷ direct')?.reference, {
      measured: 4,
      by: 'the engine at loopback speed',
    });
  });

  test('a workload that did not run leaves its goals NaN', () => {
    const empty = byName(results([]));
    assert.ok(Number.isNaN(empty.get('time to first byte added, cold, p50')?.measured));
    assert.ok(Number.isNaN(empty.get('cold aggregate: kura ÷ direct')?.measured));
    assert.ok(Number.isNaN(empty.get('CPU s per cold GiB: kura ÷ nginx cold')?.measured));
    // Named without the cell they would have read: no blank where it goes.
    for (const name of empty.keys()) assert.doesNotMatch(name, / :| ,|\(\)| {2}/, name);
  });
});
