// The dashboard: reads /dashboard/data and redraws, every few seconds (?refresh=seconds changes it).

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

function axisLabel(v) {
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 10) return v.toFixed(0);
  return v.toFixed(v >= 1 ? 1 : 2);
}

function drawChart(canvas, series, colors) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const values = series.flat().filter((v) => v !== null);
  const max = Math.max(1e-9, ...values) * 1.1;
  ctx.strokeStyle = '#e3e7ee';
  ctx.fillStyle = '#58606e';
  ctx.font = '11px system-ui, sans-serif';
  for (let g = 0; g <= 4; g++) {
    const y = height - 16 - ((height - 24) * g) / 4;
    ctx.beginPath();
    ctx.moveTo(40, y);
    ctx.lineTo(width, y);
    ctx.stroke();
    ctx.fillText(axisLabel((max * g) / 4), 2, y + 4);
  }
  series.forEach((points, s) => {
    if (points.length === 0) return;
    ctx.strokeStyle = colors[s];
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    points.forEach((v, i) => {
      if (v === null) return;
      const x = 40 + ((width - 44) * i) / Math.max(1, points.length - 1);
      const y = height - 16 - ((height - 24) * v) / max;
      if (started) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
  });
}

function render(d) {
  const t = d.totals;
  $('instance').textContent =
    `instance ${d.instance.id} · version ${d.instance.version} · volume ${d.instance.volume}`;
  $('updated').textContent = `updated ${new Date(d.now).toLocaleTimeString()}`;
  $('hit-ratio').textContent = percent(t.hitRatio);
  $('hit-detail').textContent = `${t.fromCache} of ${t.cacheable} cacheable requests from cache`;
  $('bytes-saved').textContent = bytes(t.bytesFromCache);
  $('bytes-detail').textContent = `served from cache; ${bytes(t.bytesFromS3)} from S3`;
  const last = d.lastMinute;
  $('request-rate').textContent = last ? `${last.requestsPerSecond.toFixed(1)}/s` : '–';
  $('request-detail').textContent = `${t.requests} requests since start, ${t.activeRequests} in flight`;
  $('latency').textContent = ms(last?.p95Ms);
  $('latency-detail').textContent = `mean ${ms(last?.meanMs)}, over the last minute`;
  drawChart($('rate-chart'), [d.history.map((p) => p.requestsPerSecond)], ['#2f7de1']);
  drawChart(
    $('latency-chart'),
    [d.history.map((p) => p.meanMs), d.history.map((p) => p.p95Ms)],
    ['#2f7de1', '#d6612f'],
  );

  const c = d.cache;
  const share = c.bytes === null ? 0 : Math.min(1, c.bytes / c.capacity);
  $('size-fill').style.width = `${share * 100}%`;
  $('size-bar').setAttribute('aria-valuenow', String(Math.round(share * 100)));
  $('cache-size').textContent =
    `${bytes(c.bytes)} of ${bytes(c.capacity)} (${percent(c.bytes === null ? null : share)}) on the volume`;
  const ramShare = Math.min(1, c.ramBytes / Math.max(1, c.ramCapacity));
  $('ram-fill').style.width = `${ramShare * 100}%`;
  $('ram-size').textContent = `RAM tier: ${bytes(c.ramBytes)} of ${bytes(c.ramCapacity)}`;

  const body = $('top-keys').tBodies[0];
  body.replaceChildren();
  if (d.topKeys.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 5;
    cell.textContent = 'no requests yet';
  }
  for (const k of d.topKeys) {
    const row = body.insertRow();
    for (const v of [k.bucket, k.key, String(k.requests), String(k.hits), bytes(k.bytes)])
      row.insertCell().textContent = v;
  }

  const f = d.fleet;
  const list = $('instances');
  list.replaceChildren();
  if (!f.known || f.instances === null) {
    $('fleet').textContent = 'Single instance: other instances and the leader are not known to this version.';
  } else {
    const leader = f.instances.find((i) => i.leader);
    $('fleet').textContent =
      `${f.instances.length} instance(s); leader: ${leader ? leader.id : 'none'}${f.leader ? ' (this one)' : ''}`;
    if (f.lastEviction) {
      const e = f.lastEviction;
      $('fleet').textContent +=
        `; last eviction ${new Date(e.at).toLocaleString()}: ${e.objects} objects, ${bytes(e.bytes)}`;
    }
    for (const i of f.instances) {
      const li = document.createElement('li');
      li.textContent = `${i.id}${i.leader ? ' (leader)' : ''}, last seen ${new Date(i.lastSeen).toLocaleTimeString()}`;
      list.append(li);
    }
  }
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
