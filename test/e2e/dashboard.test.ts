// The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core): after known
// traffic it shows the hit ratio, bytes saved, cache size against capacity, top keys and the instances
// as a person reads them, and it refreshes itself. KURA_UPDATE_SCREENSHOT=1 saves the screenshot as
// docs/dashboard.png.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
/** docs/dashboard.png is replaced only when asked, so that a test run leaves the tree as it was. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));

let origin: MemoryOrigin;
let kura: TestKura;
let browser: BrowserContext;
let profile: string;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'admin.port': await freePort(), 'cache.chunk_size': '64KiB' },
    start: { dashboardSampleMs: 250 },
  });
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
  await kura?.close();
  await origin?.close();
  await rm(profile, { recursive: true, force: true });
});

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

test('shows what the cache did, refreshes itself, and is kept as a screenshot', async () => {
  const client = sdkClient(kura.url);
  const hot = randomBytes(300 * 1024);
  const cold = randomBytes(100 * 1024);
  origin.put(BUCKET, 'tables/hot.parquet', hot);
  origin.put(BUCKET, 'tables/cold.parquet', cold);
  // Three reads of one object (a miss, then two hits) and one of another: 2 of 4 from cache.
  for (let i = 0; i < 3; i++)
    assert.ok((await sdkGet(client, BUCKET, 'tables/hot.parquet')).body.equals(hot));
  assert.ok((await sdkGet(client, BUCKET, 'tables/cold.parquet')).body.equals(cold));
  await until(() => kura.access.length === 4);

  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${kura.adminPort}/dashboard?refresh=0.5`);
  await page.locator('#hit-ratio', { hasText: '%' }).waitFor();
  assert.equal(await page.title(), 'Kura dashboard');
  assert.equal(await text(page, '#hit-ratio'), '50.0%');
  assert.equal(await text(page, '#hit-detail'), '2 of 4 cacheable requests from cache');
  assert.equal(await text(page, '#bytes-saved'), '600.0 KiB', 'two hits of 300 KiB');
  assert.match(await text(page, '#bytes-detail'), /^served from cache; 400\.0 KiB from S3$/);
  assert.match(await text(page, '#cache-size'), /^\d+(\.\d)? KiB of 100\.0 GiB \(0\.0%\) on the volume$/);
  assert.match(await text(page, '#ram-size'), /^RAM tier: .* of 512\.0 MiB$/);
  // The only instance on its volume: the leader once its first maintenance round has run.
  assert.match(await text(page, '#fleet'), /^1 instance\(s\); leader: (none|\S+ \(this one\))$/);
  const rows = await page
    .locator('#top-keys tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows[0]?.slice(0, 4), ['kura-test', 'tables/hot.parquet', '3', '2']);
  assert.match(rows[0]?.[4] ?? '', /^9\d\d\.\d KiB$/, 'three bodies of 300 KiB and their heads');

  assert.deepEqual(rows[1]?.slice(0, 4), ['kura-test', 'tables/cold.parquet', '1', '0']);
  assert.match(await text(page, '#instance'), new RegExp(`volume ${kura.dir.replace(/[/.]/g, '\\$&')}$`));

  // More traffic over a few seconds, for the page to pick up by itself and for the charts to show.
  for (let i = 0; i < 24; i++) {
    await sdkGet(client, BUCKET, 'tables/hot.parquet');
    await new Promise((r) => setTimeout(r, 100));
  }
  await until(() => kura.access.length === 28);
  // 26 of 28 from cache.
  await page.locator('#hit-ratio', { hasText: '92.9%' }).waitFor({ timeout: 10_000 });
  assert.equal(await text(page, '#hit-detail'), '26 of 28 cacheable requests from cache');
  assert.match(await text(page, '#request-rate'), /^\d+\.\d\/s$/);
  assert.match(await text(page, '#latency'), /^\d+(\.\d+)? ms$/);
  const png = await page.screenshot({
    fullPage: true,
    ...(process.env.KURA_UPDATE_SCREENSHOT === '1' ? { path: DOCS_SCREENSHOT } : {}),
  });
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  await page.close();
});

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), 'condition not met within 5 s');
}
