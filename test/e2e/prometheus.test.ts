// The monitoring that ships in deploy/ against a real Prometheus scraping a live `kura serve` with two
// workers: every query of the Grafana dashboard and every series the alert rules read return data under
// known traffic, the counters Prometheus stored equal that traffic, no alert fires while all is well,
// and the origin errors, error rate and down alerts fire once the origin, then Kura, is stopped.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { parse, stringify } from 'yaml';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { freePort, type KuraProcess, spawnKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { parsePrometheus } from '../support/prometheus.js';
import { runPromtool, startPrometheus, type TestPrometheus } from '../support/prometheus-server.js';

const DASHBOARD = new URL('../../../deploy/grafana/kura.json', import.meta.url);
const RULES = new URL('../../../deploy/prometheus/kura-rules.yaml', import.meta.url);
const OBJECTS = ['a.bin', 'b.bin', 'c.bin', 'd.bin'];
const BUCKET = 'kura-test';
const READS_EACH = 6;
const NOT_FOUND = 3;
// Alert windows in the test's copy of the rules (minutes in the real ones).
const WINDOW_S = 10;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

let origin: MemoryOrigin;
let kura: KuraProcess;
let prometheus: TestPrometheus;
let adminUrl: string;
let client: S3Client;
let dir: string;
const bodies = new Map(OBJECTS.map((k) => [k, randomBytes(200_000)]));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kura-monitoring-'));
  origin = await startMemoryOrigin();
  const adminPort = await freePort();
  kura = await spawnKura(['--origin', origin.url, '--workers', '2', '--admin-port', String(adminPort)]);
  adminUrl = `http://127.0.0.1:${adminPort}`;
  client = sdkClient(kura.url);
  // The test's copy of the rules: alerts fire after 3 s instead of minutes (three evaluations, so that
  // one slow scrape on a busy machine does not fire KuraDown), over short windows.
  const fast = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] };
  for (const rule of fast.groups.flatMap((g) => g.rules)) {
    rule.for = '3s';
    rule.expr = rule.expr.replace(/\[\d+m\]/g, `[${WINDOW_S}s]`);
  }
  const testRules = join(dir, 'rules.yaml');
  writeFileSync(testRules, stringify(fast));
  prometheus = await startPrometheus({
    targets: [`127.0.0.1:${adminPort}`],
    ruleFiles: [testRules],
    intervalSeconds: 1,
  });
});

after(async () => {
  await prometheus?.close();
  await kura?.stop();
  await origin?.close().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${prometheus.log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function value(expr: string): Promise<number | null> {
  const r = await prometheus.query(expr);
  return r.length === 1 ? (r[0]?.value ?? null) : null;
}

async function firing(): Promise<string[]> {
  return (await prometheus.alerts()).filter((a) => a.state === 'firing').map((a) => a.labels.alertname ?? '');
}

/** Background traffic: hits on the cached objects and a GET the origin must answer, until stopped. */
function trafficLoop(): { stop(): Promise<number> } {
  let stopped = false;
  let rounds = 0;
  const done = (async () => {
    // Bounded: at most 1200 rounds (about 2 minutes), far beyond what the test needs.
    while (!stopped && rounds < 1200) {
      for (const key of OBJECTS) await sdkGet(client, BUCKET, key);
      await sdkGet(client, BUCKET, `absent/${rounds}`);
      rounds += 1;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return rounds;
    },
  };
}

/** A dashboard query as Grafana sends it: its variables set to this job, all instances, short windows. */
function grafanaExpr(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__range', '1m')
    .replaceAll('$job', 'kura')
    .replaceAll('$instance', '.*');
}

/** Every `metric{…}` selector of an expression. */
function selectors(expr: string): string[] {
  return [...expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{[^}]*\}/g)].map((m) => m[0]);
}

test('promtool check rules passes on deploy/prometheus/kura-rules.yaml', async () => {
  const { stdout } = await runPromtool(['check', 'rules', RULES.pathname]);
  assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  assert.deepEqual(
    rules.map((r) => r.alert).sort(),
    [
      'KuraDown',
      'KuraEvictionFallingBehind',
      'KuraHighErrorRate',
      'KuraLeaderMissing',
      'KuraNotReady',
      'KuraOriginErrors',
      'KuraVolumeNearFull',
      'KuraWorkersRestarting',
    ].sort(),
  );
});

test('Prometheus stores exactly the known traffic', async () => {
  for (const [key, body] of bodies) origin.put(BUCKET, key, body);
  let hits = 0;
  for (let i = 0; i < READS_EACH; i++) {
    for (const [key, body] of bodies) {
      const read = await sdkGet(client, BUCKET, key);
      assert.equal(read.status, 200);
      assert.ok(read.body.equals(body), `${key}: the origin's bytes`);
      if (read.xCache === 'HIT') hits += 1;
    }
  }
  assert.ok(hits >= OBJECTS.length * (READS_EACH - 1), `${hits} hits`);
  for (let i = 0; i < NOT_FOUND; i++) assert.equal((await sdkGet(client, BUCKET, `none/${i}`)).status, 404);
  // One 5xx, so that the series the error alerts read exist while all is well.
  origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown' });
  assert.equal((await sdkGet(client, BUCKET, 'none/busy')).status, 503);
  const requests = OBJECTS.length * READS_EACH + NOT_FOUND + 1;
  const live = parsePrometheus(await (await fetch(`${adminUrl}/metrics`)).text());
  let liveTotal = 0;
  for (const [id, v] of live) if (id.startsWith('kura_requests_total{')) liveTotal += v;
  assert.equal(liveTotal, requests, 'Kura counted every request');
  await until('Prometheus has scraped the traffic', 15_000, async () =>
    (await value('sum(kura_requests_total{job="kura"})')) === requests ? true : null,
  );
  assert.equal(await value('sum(kura_requests_total{job="kura",kura_cache_result="HIT"})'), hits);
  assert.equal(
    await value('sum(http_server_request_duration_count{job="kura",http_response_status_code="404"})'),
    NOT_FOUND,
  );
  assert.equal(
    await value('sum(http_server_request_duration_count{job="kura",http_response_status_code=~"5.."})'),
    1,
  );
  assert.equal(await value('sum(kura_upstream_errors_total{job="kura",error_type="http_5xx"})'), 1);
  assert.equal(await value('sum(kura_bytes_total{job="kura",kura_source=~"ram|disk"})'), hits * 200_000);
  assert.equal(await value('kura_workers{job="kura"}'), 2);
  assert.equal((await prometheus.query('kura_leader{job="kura"}')).length, 2, 'one leader point per worker');
  await until('a worker holds the leader lock', 15_000, async () =>
    (await value('sum(kura_leader{job="kura"})')) === 1 ? true : null,
  );
  assert.equal(await value('kura_ready{job="kura"}'), 1);
});

test('under traffic every dashboard query and every alert selector returns data, and nothing fires', async () => {
  const traffic = trafficLoop();
  try {
    // Rates over the dashboard's 10 s windows need a few scrapes of the running traffic.
    await until('request rates in Prometheus', 20_000, async () => {
      const rate = await value('sum(rate(kura_requests_total{job="kura"}[10s]))');
      return rate !== null && rate > 0 ? true : null;
    });
    await new Promise((r) => setTimeout(r, 3_000));

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: {
        id: number;
        title: string;
        type: string;
        gridPos: { x: number; y: number; w: number; h: number };
        datasource?: { uid: string };
        targets?: { expr: string }[];
      }[];
    };
    // The layout Grafana reads: ids unique, panels within 24 columns and apart, each on the chosen source.
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: ${JSON.stringify(g)}`);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel`);
          cells.add(`${x},${y}`);
        }
      if (p.type !== 'row') {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable, not a template.
        assert.equal(p.datasource?.uid, '${datasource}', p.title);
        assert.ok((p.targets ?? []).length > 0, p.title);
      }
    }
    assert.deepEqual(await prometheus.labelValues('job', 'kura_workers'), ['kura']);
    assert.equal((await prometheus.labelValues('instance', 'kura_workers{job="kura"}')).length, 1);
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    assert.ok(exprs.length >= 30, `${exprs.length} queries`);
    for (const { panel, expr } of exprs) {
      const result = await prometheus.query(grafanaExpr(expr));
      assert.ok(
        result.some((s) => Number.isFinite(s.value)),
        `${panel}: ${expr} returned ${JSON.stringify(result)}`,
      );
    }
    const hitRatio = await value(
      grafanaExpr(
        dashboard.panels.find((p) => p.title === 'Hit ratio')?.targets?.[0]?.expr ?? 'no such panel',
      ),
    );
    assert.ok(hitRatio !== null && hitRatio > 0.5 && hitRatio <= 1, `hit ratio ${hitRatio}`);

    for (const rule of rules) {
      await prometheus.query(rule.expr); // accepted as written
      for (const s of selectors(rule.expr)) {
        assert.ok((await prometheus.query(s)).length > 0, `${rule.alert}: ${s} has no series`);
      }
    }
    // The 503 above out of the alerts' windows, then longer than the rules' `for`: nothing may fire.
    await until('the 503 out of the window', 30_000, async () =>
      (await value(`sum(rate(kura_upstream_errors_total{job="kura"}[${WINDOW_S}s]))`)) === 0 ? true : null,
    );
    await new Promise((r) => setTimeout(r, 4_500));
    assert.deepEqual(await firing(), [], 'no alert fires while Kura and its origin are healthy');
  } finally {
    await traffic.stop();
  }
});

test('stopping the origin fires KuraOriginErrors and KuraHighErrorRate; stopping Kura fires KuraDown', async () => {
  const traffic = trafficLoop();
  try {
    await origin.close();
    const fired = await until('origin alerts firing', 30_000, async () => {
      const names = await firing();
      return names.includes('KuraOriginErrors') && names.includes('KuraHighErrorRate') ? names : null;
    });
    assert.ok(!fired.includes('KuraDown'), `${fired}`);
    assert.ok(
      ((await value('sum(kura_upstream_errors_total{job="kura",error_type="connect"})')) ?? 0) > 0,
      'the refused connections are counted as connect errors',
    );
  } finally {
    await traffic.stop();
  }
  assert.equal(await kura.stop(), 0);
  await until('KuraDown firing', 20_000, async () => ((await firing()).includes('KuraDown') ? true : null));
});
