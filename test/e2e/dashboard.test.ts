// The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core): two Kura
// instances on one volume, known traffic through each (misses, hits, a 404, a 503 from S3), and the page
// of one of them shows the fleet as a person reads it: the figures, a row per instance, the errors by
// kind, and charts with a time axis, units and legends; it refreshes itself. KURA_UPDATE_SCREENSHOT=1
// saves the screenshot as docs/dashboard.png.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { errorCount, type Figures, readAndTally } from '../support/dashboard-tally.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
/** docs/dashboard.png is replaced only when asked, so that a test run leaves the tree as it was. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));

let origin: MemoryOrigin;
let volume: string;
let a: TestKura;
let b: TestKura;
let browser: BrowserContext;
let profile: string;

before(async () => {
  origin = await startMemoryOrigin();
  volume = await mkdtemp(join(tmpdir(), 'kura-dashboard-'));
  const start = async () =>
    startTestKura({
      origin: origin.url,
      workers: 1,
      settings: { 'cache.dir': volume, 'admin.port': await freePort(), 'cache.chunk_size': '64KiB' },
      start: { dashboardSampleMs: 250 },
    });
  a = await start();
  b = await start();
  profile = await mkdtemp(join(tmpdir(), 'kura-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
after(async () => {
  await browser?.close();
  await a?.close();
  await b?.close();
  await origin?.close();
  await rm(volume, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
});

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';
const texts = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent ?? ''));

/** As the page writes sizes: B below 1 KiB, else one decimal in the largest unit under 1024. */
function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

test('shows the fleet: figures, a row per instance, errors by kind, charts with axes and legends', async () => {
  const hot = randomBytes(300 * 1024);
  const cold = randomBytes(100 * 1024);
  origin.put(BUCKET, 'tables/hot.parquet', hot);
  origin.put(BUCKET, 'tables/cold.parquet', cold);
  origin.put(BUCKET, 'tables/busy.parquet', randomBytes(1024));
  const hotKey = 'tables/hot.parquet';
  // Through A: a miss, two hits, another miss, and a key S3 does not have.
  const fa = await readAndTally(a.url, origin, BUCKET, [
    hotKey,
    hotKey,
    hotKey,
    'tables/cold.parquet',
    'tables/missing.parquet',
  ]);
  // Through B: two hits on what A cached, and S3 answering 503.
  origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown' });
  const fb = await readAndTally(b.url, origin, BUCKET, ['tables/busy.parquet', hotKey, hotKey]);
  assert.deepEqual([fa.fromCache, fb.fromCache], [2, 2]);
  const all: Figures = {
    requests: fa.requests + fb.requests,
    cacheable: fa.cacheable + fb.cacheable,
    fromCache: fa.fromCache + fb.fromCache,
    bytesFromCache: fa.bytesFromCache + fb.bytesFromCache,
    bytesFromS3: fa.bytesFromS3 + fb.bytesFromS3,
    errors: { ...fa.errors, ...fb.errors },
  };

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${a.adminPort}/dashboard?refresh=0.5`);
  assert.equal(await page.title(), 'Kura dashboard');
  // Both instances' numbers: B's file is at most one of its samples old.
  const detail = `${all.fromCache} of ${all.cacheable} cacheable requests from cache`;
  await page.locator('#hit-detail', { hasText: detail }).waitFor({ timeout: 10_000 });
  assert.equal(await text(page, '#hit-ratio'), percent(all.fromCache, all.cacheable));
  assert.equal(await text(page, '#bytes-saved'), size(all.bytesFromCache));
  assert.equal(await text(page, '#origin-bytes'), size(all.bytesFromS3));
  assert.equal(await text(page, '#errors'), String(errorCount(all)));
  assert.equal(await text(page, '#errors-detail'), '1 5xx responses, 1 origin errors, 0 cache errors');
  assert.match(await text(page, '#fleet-summary'), /^Fleet: 2 instance\(s\), 2 process\(es\) serving/);

  // A row per instance, this one marked, each with its own figures.
  const rows = await page
    .locator('#members tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-instance'), ...[...tr.cells].map((td) => td.textContent)]),
    );
  assert.equal(rows.length, 2);
  for (const [kura, f, self] of [
    [a, fa, true],
    [b, fb, false],
  ] as const) {
    const id = kura.cache.volume.instanceId;
    const row = rows.find((r) => r[0] === id);
    assert.ok(row, `a row for ${id}: ${JSON.stringify(rows)}`);
    assert.equal(row[1], self ? `${id} (this one)` : id);
    assert.equal(row[3], '1', 'one process');
    assert.deepEqual(row.slice(5, 10), [
      String(f.requests),
      percent(f.fromCache, f.cacheable),
      size(f.bytesFromCache),
      size(f.bytesFromS3),
      String(errorCount(f)),
    ]);
  }

  // Errors by kind: every kind listed, the ones met with their counts.
  const kinds = Object.fromEntries(
    await page
      .locator('#error-kinds tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.getAttribute('data-kind'), [...tr.cells].map((c) => c.textContent)]),
      ),
  ) as Record<string, string[]>;
  assert.deepEqual(kinds['responses.5xx']?.[2], '1');
  assert.deepEqual(kinds['origin.http_5xx']?.slice(0, 1), ['origin: http_5xx']);
  assert.deepEqual(kinds['origin.http_5xx']?.[2], '1');
  assert.deepEqual(kinds['responses.4xx']?.[2], '1');
  assert.deepEqual(kinds['cache.corrupt-chunk']?.[2], '0');
  assert.ok(Object.keys(kinds).length >= 16, 'responses, origin and cache kinds');

  // Charts: a time axis with clock labels, a value axis in the unit, a legend, lines drawn.
  await page.locator('#rate-chart text.x-label').nth(1).waitFor({ timeout: 10_000 });
  const charts: [string, string, string[]][] = [
    ['rate-chart', 'requests per second', ['all requests (req/s)', 'answered from cache (req/s)']],
    ['hit-chart', 'percent', ['hit ratio (%)']],
    [
      'bytes-chart',
      'bytes per second',
      ['saved: sent from cache (bytes/s)', 'origin traffic: from S3 (bytes/s)'],
    ],
    [
      'error-chart',
      'errors per minute',
      ['5xx responses (per min)', 'origin errors (per min)', 'cache errors (per min)'],
    ],
    ['latency-chart', 'milliseconds', ['mean (ms)', 'p95 (ms)']],
  ];
  for (const [id, unit, legend] of charts) {
    assert.deepEqual(await texts(page, `#${id} .legend li`), legend, `${id}'s legend`);
    assert.deepEqual(await texts(page, `#${id} text.axis-title`), [unit, 'time'], `${id}'s axis titles`);
    const x = await texts(page, `#${id} text.x-label`);
    assert.ok(x.length >= 2, `${id} has time labels`);
    for (const t of x) assert.match(t, /^\d\d:\d\d:\d\d$/, `${id}'s time label`);
    assert.ok((await texts(page, `#${id} text.y-label`)).length >= 2, `${id} has value labels`);
  }
  assert.ok((await texts(page, '#rate-chart text.y-label')).every((t) => t.endsWith('/s')));
  assert.ok((await texts(page, '#hit-chart text.y-label')).includes('100%'));
  assert.ok((await texts(page, '#bytes-chart text.y-label')).every((t) => /B\/s$/.test(t)));
  assert.equal(await page.locator('#rate-chart path.line').count(), 2);

  // More traffic through B: the page, served by A, picks it up by itself.
  const more = await readAndTally(b.url, origin, BUCKET, Array(6).fill(hotKey));
  const later = `${all.fromCache + more.fromCache} of ${all.cacheable + more.cacheable} cacheable requests from cache`;
  await page.locator('#hit-detail', { hasText: later }).waitFor({ timeout: 10_000 });
  assert.match(await text(page, '#request-rate'), /^\d+\.\d\/s$/);
  assert.match(await text(page, '#latency'), /^\d+(\.\d+)? ms$/);
  assert.match(await text(page, '#instance'), new RegExp(`volume ${volume.replace(/[/.]/g, '\\$&')}$`));
  const png = await page.screenshot({
    fullPage: true,
    ...(process.env.KURA_UPDATE_SCREENSHOT === '1' ? { path: DOCS_SCREENSHOT } : {}),
  });
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  await page.close();
});
