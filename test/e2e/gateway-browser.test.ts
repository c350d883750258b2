// A web page in headless Chromium loads images through public gateway routes: no credentials in the
// browser, the objects stored without a Content-Type (the gateway finds image/png from their bytes), and
// at the same moment a cross-origin fetch of each same URL reads it under the route's CORS. The second
// page load is served from the cache.
//
// The objects were last modified a day ago, as most objects in a bucket were: Chromium then takes the
// image's answer as fresh for a while (a tenth of its age, RFC 9111 §4.2.2), and a fetch that waits on the
// image's entry in its HTTP cache is given that answer, asked without an Origin, instead of its own. Each
// route's answers must let that reuse pass: `*` by carrying Access-Control-Allow-Origin on every answer,
// listed origins by `Vary: Origin`, so that the fetch asks the gateway itself.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type Chromium, launchChromium } from '../support/chromium.js';
import { solidPng } from '../support/gateway.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const png = solidPng(24, 16, [10, 160, 40]);
const DAY_MS = 24 * 60 * 60 * 1000;
/** Route prefix and object under `site/`, one for each kind of CORS. */
const IMAGES = [
  { path: '/assets/leaf', key: 'site/leaf' },
  { path: '/listed/fern', key: 'site/fern' },
];

let origin: MemoryOrigin;
let kura: TestKura;
let site: http.Server;
let chromium: Chromium;
let gateway: string;
let siteUrl: string;

before(async () => {
  origin = await startMemoryOrigin();
  for (const image of IMAGES) {
    origin.put(BUCKET, image.key, png, { lastModified: new Date(Date.now() - DAY_MS) });
  }
  // The page comes from another origin (another port), as a web app's pages would.
  site = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const urls = IMAGES.map((image) => `${gateway}${image.path}`);
    res.end(`<!doctype html><title>gallery</title>
${urls.map((url) => `<img src="${url}" alt="leaf">`).join('\n')}
<script>
  // Started as the images are: each fetch overlaps its image's request.
  window.fetched = Promise.all(${JSON.stringify(urls)}.map((url) => fetch(url).then(async (r) => ({
    status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength,
  }), (e) => ({ error: String(e) }))));
</script>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const route = (prefix: string, origins: string[]) => ({
    prefix,
    origin: { url: origin.url },
    bucket: BUCKET,
    key_prefix: 'site/',
    credentials: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
    auth: 'none',
    cors: { origins },
  });
  kura = await startTestKura({
    workers: 1,
    settings: {
      'gateway.listen': ['127.0.0.1:0'],
      'gateway.routes': [route('/assets/', ['*']), route('/listed/', [siteUrl.slice(0, -1)])],
    },
  });
  gateway = `http://127.0.0.1:${kura.gatewayPorts[0]}`;
  chromium = await launchChromium({ width: 800, height: 600 });
});
after(async () => {
  await chromium?.close();
  await new Promise((resolve) => site?.close(resolve));
  await kura?.close();
  await origin?.close();
});

async function loadPage() {
  const page = await chromium.browser.newPage();
  // What Chromium objected to, should a request fail: its net error and, for CORS, the reason (a fetch
  // sees only `TypeError: Failed to fetch`).
  const failures: string[] = [];
  const urls = new Map<string, string>();
  const cdp = await chromium.browser.newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFailed', (e) => {
    const why = e.corsErrorStatus?.corsError ?? e.blockedReason ?? '';
    failures.push(`${e.type} ${urls.get(e.requestId)}: ${e.errorText} ${why}`.trim());
  });
  await cdp.send('Network.enable');
  try {
    await page.goto(siteUrl, { waitUntil: 'load' });
    // Evaluated in the page, where the DOM is (this file is compiled without it).
    const images = await page.evaluate(`[...document.images].map((img) => ({
      complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    }))`);
    const fetched = await page.evaluate('window.fetched');
    return { images, fetched, failures: [...failures] };
  } finally {
    await page.close();
  }
}

test('the page shows the images and cross-origin fetches read them at once; the next load is served from cache', async () => {
  const shown = IMAGES.map(() => ({ complete: true, width: 24, height: 16 }));
  const read = IMAGES.map(() => ({ status: 200, type: 'image/png', bytes: png.length }));
  const first = await loadPage();
  assert.deepEqual(first, { images: shown, fetched: read, failures: [] });
  const originGets = () =>
    origin.requests.filter((r) => r.method === 'GET' && IMAGES.some((i) => r.rawUrl.endsWith(`/${i.key}`)));
  const before = originGets().length;
  assert.ok(before >= IMAGES.length);
  // A fresh profile page: the browser's own cache may answer, but whatever reaches Kura is a hit.
  const second = await loadPage();
  assert.deepEqual(second, { images: shown, fetched: read, failures: [] });
  assert.equal(originGets().length, before);
});
