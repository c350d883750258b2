// The dashboard: reads /dashboard/data and redraws, every few seconds (?refresh=seconds changes it). The
// cards, charts and tables are of the whole fleet on the volume; the cache's RAM tier and the top keys
// are of the instance serving the page.

import { drawChart } from './chart.js';

const refreshSeconds = Number(new URLSearchParams(location.search).get('refresh')) || 5;
const $ = (id) => document.getElementById(id);

function bytes(n) {
  if (n === null || n === undefined) return 'not known';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const percent = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)}%`);
const ms = (v) =>
  v === null || v === undefined ? '–' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`;
const count = (v) =>
  v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`;
const clock = (iso) => new Date(iso).toLocaleTimeString('en-GB', { hour12: false });

/** Each error kind of /dashboard/data, as the page names it. */
const ERROR_KINDS = {
  'responses.5xx': [
    '5xx responses',
    'answers to clients with a 5xx status (S3 errors passed on, or Kura failing)',
  ],
  'responses.4xx': [
    '4xx responses',
    "answers to clients with a 4xx status (the client's request was refused)",
  ],
  'origin.timeout': ['origin: timeout', 'requests to S3 that timed out'],
  'origin.connect': ['origin: connect', 'requests to S3 that could not connect'],
  'origin.dns': ['origin: dns', "S3's name did not resolve"],
  'origin.reset': ['origin: reset', 'connections to S3 cut mid-answer'],
  'origin.tls': ['origin: tls', 'TLS handshakes with S3 that failed'],
  'origin.http_5xx': ['origin: http_5xx', 'S3 answered with a 5xx status'],
  'origin.busy': ['origin: busy', 'requests refused because every connection to S3 stayed busy'],
  'origin.other': ['origin: other', 'requests to S3 that failed otherwise'],
  'cache.chunk-write': ['cache: chunk write', 'chunk files that could not be written'],
  'cache.corrupt-chunk': ['cache: corrupt chunk', 'chunk files found damaged (served from S3, removed)'],
  'cache.corrupt-record': ['cache: corrupt record', 'object records found damaged (treated as misses)'],
  'cache.revalidation': ['cache: revalidation', 'stale entries whose check with S3 failed'],
  'cache.bypass': ['cache: bypass', "requests passed to S3 on the cache's own error"],
  'cache.upload': ['cache: upload', "uploads not cached on the cache's own error"],
};
const errorGroups = (errors) => {
  const g = { responses: 0, origin: 0, cache: 0 };
  for (const [kind, n] of Object.entries(errors)) {
    if (kind === 'responses.5xx') g.responses += n;
    else if (kind.startsWith('origin.')) g.origin += n;
    else if (kind.startsWith('cache.')) g.cache += n;
  }
  return g;
};

function fillTable(table, rows, empty) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = table.tHead.rows[0].cells.length;
    cell.textContent = empty;
  }
  for (const { cells, attrs = {} } of rows) {
    const row = body.insertRow();
    for (const [k, v] of Object.entries(attrs)) row.setAttribute(k, v);
    for (const v of cells) row.insertCell().textContent = v;
  }
}

function renderCards(d) {
  const f = d.fleet;
  const t = f.totals;
  $('hit-ratio').textContent = percent(t.hitRatio);
  $('hit-detail').textContent = `${t.fromCache} of ${t.cacheable} cacheable requests from cache`;
  $('bytes-saved').textContent = bytes(t.bytesFromCache);
  $('bytes-detail').textContent = 'sent from cache instead of fetched from S3';
  $('origin-bytes').textContent = bytes(t.bytesFromS3);
  $('origin-detail').textContent = `received from S3; ${bytes(t.bytesFromCache + t.bytesFromS3)} sent in all`;
  const g = errorGroups(t.errors);
  $('errors').textContent = String(g.responses + g.origin + g.cache);
  $('errors-detail').textContent =
    `${g.responses} 5xx responses, ${g.origin} origin errors, ${g.cache} cache errors`;
  const last = f.lastMinute;
  $('request-rate').textContent = last ? `${last.requestsPerSecond.toFixed(1)}/s` : '–';
  $('request-detail').textContent = `${t.requests} requests since start, ${t.activeRequests} in flight`;
  $('latency').textContent = ms(last?.p95Ms);
  $('latency-detail').textContent = `mean ${ms(last?.meanMs)}, over the last minute`;
}

function renderCharts(history) {
  const times = history.map((p) => new Date(p.at));
  const col = (k) => history.map((p) => p[k]);
  drawChart($('rate-chart'), {
    times,
    unit: 'requests per second',
    format: (v) => `${count(v)}/s`,
    series: [
      { name: 'all requests (req/s)', color: '#2f7de1', values: col('requestsPerSecond') },
      { name: 'answered from cache (req/s)', color: '#2a9d5c', values: col('cachedPerSecond'), dashed: true },
    ],
  });
  drawChart($('hit-chart'), {
    times,
    unit: 'percent',
    max: 1,
    format: (v) => `${Math.round(v * 100)}%`,
    series: [{ name: 'hit ratio (%)', color: '#2a9d5c', values: col('hitRatio') }],
  });
  drawChart($('bytes-chart'), {
    times,
    unit: 'bytes per second',
    binary: true,
    format: (v) => `${bytes(v)}/s`,
    series: [
      { name: 'saved: sent from cache (bytes/s)', color: '#2a9d5c', values: col('cacheBytesPerSecond') },
      { name: 'origin traffic: from S3 (bytes/s)', color: '#d6612f', values: col('s3BytesPerSecond') },
    ],
  });
  const errors = (k) => history.map((p) => p.errorsPerMinute[k]);
  drawChart($('error-chart'), {
    times,
    unit: 'errors per minute',
    format: (v) => `${count(v)}/min`,
    series: [
      { name: '5xx responses (per min)', color: '#c0392b', values: errors('responses') },
      { name: 'origin errors (per min)', color: '#d6612f', values: errors('origin'), dashed: true },
      { name: 'cache errors (per min)', color: '#8a5cd6', values: errors('cache') },
    ],
  });
  drawChart($('latency-chart'), {
    times,
    unit: 'milliseconds',
    format: (v) => `${count(v)} ms`,
    series: [
      { name: 'mean (ms)', color: '#2f7de1', values: col('meanMs') },
      { name: 'p95 (ms)', color: '#d6612f', values: col('p95Ms') },
    ],
  });
}

function renderFleet(d) {
  const f = d.fleet;
  const members = f.members.map((m) => ({
    attrs: { 'data-instance': m.id, ...(m.self ? { class: 'self' } : {}) },
    cells: [
      m.self ? `${m.id} (this one)` : m.id,
      `${m.host}, ${m.pid}`,
      String(m.workers),
      m.leader === null ? '–' : m.leader ? 'yes' : 'no',
      String(m.requests),
      percent(m.hitRatio),
      bytes(m.bytesFromCache),
      bytes(m.bytesFromS3),
      String(m.errors),
      String(m.activeRequests),
      clock(m.reportedAt),
    ],
  }));
  fillTable($('members'), members, 'no instance has reported yet');
  $('fleet-summary').textContent =
    `Fleet: ${f.totals.members} instance(s), ${f.totals.workers} process(es) serving, on volume ${d.instance.volume}`;

  let text;
  if (!f.known || f.instances === null) {
    text = 'The leader and the volume instances are not known to this version.';
  } else {
    const leader = f.instances.find((i) => i.leader);
    const self = d.instance.workers > 1 ? 'a worker of this instance' : 'this instance';
    text = `${f.instances.length} process(es) with a journal on the volume; leader: ${f.leader ? self : leader ? leader.id : 'none'}`;
    if (f.lastEviction) {
      const e = f.lastEviction;
      text += `; last eviction ${new Date(e.at).toLocaleString()}: ${e.objects} objects, ${bytes(e.bytes)}`;
    }
  }
  $('fleet').textContent = text;

  const kinds = Object.entries(f.totals.errors).sort(([a], [b]) => {
    const order = (k) => (k.startsWith('responses.') ? 0 : k.startsWith('origin.') ? 1 : 2);
    return order(a) - order(b) || a.localeCompare(b);
  });
  fillTable(
    $('error-kinds'),
    kinds.map(([kind, n]) => ({
      attrs: { 'data-kind': kind, ...(n === 0 ? { class: 'zero' } : {}) },
      cells: [...(ERROR_KINDS[kind] ?? [kind, '']), String(n)],
    })),
    'no counts yet',
  );
}

function render(d) {
  $('instance').textContent =
    `instance ${d.instance.id} · version ${d.instance.version} · volume ${d.instance.volume}`;
  $('updated').textContent = `updated ${clock(d.now)}`;
  renderCards(d);
  renderCharts(d.fleet.history);
  renderFleet(d);

  const c = d.cache;
  const share = c.bytes === null ? 0 : Math.min(1, c.bytes / c.capacity);
  $('size-fill').style.width = `${share * 100}%`;
  $('size-bar').setAttribute('aria-valuenow', String(Math.round(share * 100)));
  $('cache-size').textContent =
    `${bytes(c.bytes)} of ${bytes(c.capacity)} (${percent(c.bytes === null ? null : share)}) on the volume`;
  const ramShare = Math.min(1, c.ramBytes / Math.max(1, c.ramCapacity));
  $('ram-fill').style.width = `${ramShare * 100}%`;
  $('ram-size').textContent = `RAM tier of this instance: ${bytes(c.ramBytes)} of ${bytes(c.ramCapacity)}`;

  fillTable(
    $('top-keys'),
    d.topKeys.map((k) => ({
      cells: [k.bucket, k.key, String(k.requests), String(k.hits), bytes(k.bytes)],
    })),
    'no requests yet',
  );
}

async function refresh() {
  try {
    const res = await fetch('/dashboard/data', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
  } catch (err) {
    $('updated').textContent = `cannot reach Kura: ${err.message}`;
  } finally {
    setTimeout(refresh, refreshSeconds * 1000);
  }
}

refresh();
