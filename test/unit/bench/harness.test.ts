// The benchmark harness's own contract: wrk's figures are read right and a wrong answer fails the run
// (a real wrk against a real server), the report's ratios read "times better" whatever the unit, and the
// goals chart is well-formed SVG with one bar per goal that ran, and a mark for each reference figure.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Results } from '../../../bench/plan.js';
import { type Goal, goalMet, goalsSvg, markdown, timesBetter } from '../../../bench/report.js';
import { wrk } from '../../../bench/tools.js';

describe('wrk', () => {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    seen.add(req.url ?? '');
    if (req.url === '/missing') res.writeHead(404, { 'content-length': 0 }).end();
    else res.writeHead(200, { 'content-length': 1024 }).end(Buffer.alloc(1024));
  });
  let base = '';
  let dir = '';
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'kura-bench-test-'));
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('cycles every path of the list and reads requests, bytes and latency quantiles', async () => {
    const r = await wrk(base, ['/a?x=1', '/b?x=2', '/c?x=3'], 2, 1, dir);
    assert.deepEqual([...seen].sort(), ['/a?x=1', '/b?x=2', '/c?x=3']);
    assert.ok(r.requests > 10, `requests ${r.requests}`);
    assert.ok(r.bytes >= r.requests * 1024, 'bodies counted in the bytes read');
    assert.ok(r.p50 > 0 && r.p99 >= r.p50, `p50 ${r.p50} p99 ${r.p99}`);
    assert.ok(Math.abs(r.rps - r.requests / r.seconds) < 1e-6);
  });

  test('fails when an answer is not 2xx, instead of counting it as served', async () => {
    await assert.rejects(wrk(base, ['/missing'], 1, 1, dir), /not 2xx/);
  });
});

describe('report', () => {
  const results = new Results();
  const add = (target: string, value: number, workload = 'large warm', higherIsBetter = true) =>
    results.figures.push({ workload, cell: 'c=1', target, value, unit: 'MiB/s', higherIsBetter });
  add('direct', 400);
  add('ceiling', 800);
  add('kura warm ram', 600);
  add('direct', 1000, 'analytics', false);
  add('kura warm ram', 100, 'analytics', false);

  test('"times better" divides throughput by the reference and a reference time by the time', () => {
    const find = (w: string, t: string) => results.find(w, 'c=1', t);
    const kura = find('large warm', 'kura warm ram');
    assert.ok(kura);
    assert.equal(timesBetter(kura, find('large warm', 'ceiling')), 0.75);
    const warm = find('analytics', 'kura warm ram');
    assert.ok(warm);
    assert.equal(timesBetter(warm, find('analytics', 'direct')), 10);
    assert.ok(Number.isNaN(timesBetter(warm, undefined)));
  });

  test('a goal is met at its bound, in its own direction', () => {
    assert.equal(goalMet({ name: 'a', measured: 0.8, goal: 0.8, kind: 'min', unit: '×' }), true);
    assert.equal(goalMet({ name: 'b', measured: 0.79, goal: 0.8, kind: 'min', unit: '×' }), false);
    assert.equal(goalMet({ name: 'c', measured: 201, goal: 200, kind: 'max', unit: ' MB' }), false);
  });

  const goals: Goal[] = [
    { name: 'warm <large> & fast', measured: 0.75, goal: 0.8, kind: 'min', unit: '×' },
    {
      name: 'herd',
      measured: 1,
      goal: 1.25,
      kind: 'max',
      unit: '×',
      reference: { measured: 1.5, by: 'nginx' },
    },
    { name: 'skipped', measured: Number.NaN, goal: 10, kind: 'min', unit: '×' },
  ];

  test('the results table shows each target with its ratios to direct and to the ceiling', () => {
    const md = markdown({
      title: 't',
      command: 'npm run bench',
      results,
      goals,
      machineLines: ['- m'],
      chartFile: 'x.svg',
      seconds: 1,
    });
    assert.match(md, /\| c=1 \| kura warm ram \| 600 MiB\/s \| 1\.50 \| 0\.75 \|/);
    assert.match(md, /\| warm <large> & fast \| 0\.75× \| ≥ 0\.8× \| no \|/);
    assert.match(md, /\| herd \| 1\.00× \| ≤ 1\.25× \| yes \| nginx: 1\.50× \|/);
    assert.match(md, /\| warm <large> & fast \| 0\.75× \| ≥ 0\.8× \| no \| {2}\|/);
    assert.match(md, /\| skipped \| .* \| not run \|/);
  });

  test('the chart is SVG with a title, a bar per goal that ran, and escaped text', () => {
    const svg = goalsSvg(goals, 'goals & more');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<title>goals &amp; more<\/title>/);
    assert.equal(svg.match(/<rect x=/g)?.length, 2);
    // The reference's mark, its figure in a tooltip.
    assert.equal(svg.match(/<line [^>]*stroke-width="3"/g)?.length, 1);
    assert.match(svg, /<title>nginx: 1\.50×<\/title>/);
    assert.match(svg, /warm &lt;large&gt; &amp; fast/);
    assert.match(svg, /not run/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
  });
});
