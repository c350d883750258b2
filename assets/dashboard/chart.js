// A line chart in SVG, drawn from scratch (the page loads nothing from elsewhere): a time axis with
// clock labels, a value axis with labels in the series' unit, and a legend naming each line.

const SVG = 'http://www.w3.org/2000/svg';
const W = 560;
const H = 200;
const LEFT = 84;
const RIGHT = 12;
const TOP = 10;
const BOTTOM = 40;

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A round step for about `n` ticks up to `max`: 1, 2 or 5 times a power of ten, or with `binary` of
 * the largest power of 1024 under `max` (so that sizes read 256 KiB, 512 KiB, not 244.1 KiB).
 */
function niceStep(max, n, binary = false) {
  if (binary && max >= 1024) {
    const unit = 1024 ** Math.floor(Math.log(max) / Math.log(1024));
    return niceStep(max / unit, n) * unit;
  }
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

const clock = (t) =>
  t.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/**
 * Draws `series` ({name, color, values, dashed}) against `times` (Date, one per value) in the <figure> `fig`.
 * `format` writes a value with its unit; `unit` titles the value axis; `max` is the least top of the axis;
 * `binary` rounds the axis' steps for sizes.
 */
export function drawChart(fig, { times, series, format, unit, max = 0, binary = false }) {
  const svg = fig.querySelector('svg');
  svg.replaceChildren();
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && Number.isFinite(v));
  const step = niceStep(Math.max(max, ...values, 1e-9) * 1.05, 4, binary);
  const top = step * Math.ceil(Math.max(max, ...values, 1e-9) / step);
  const y = (v) => TOP + plotH - (plotH * v) / top;
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(el('line', { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: LEFT - 6, y: y(v) + 4, class: 'y-label', 'text-anchor': 'end' }, format(v)));
  }
  svg.append(
    el(
      'text',
      {
        x: 12,
        y: TOP + plotH / 2,
        class: 'axis-title',
        transform: `rotate(-90 12 ${TOP + plotH / 2})`,
        'text-anchor': 'middle',
      },
      unit,
    ),
  );
  svg.append(
    el('text', { x: LEFT + plotW / 2, y: H - 4, class: 'axis-title', 'text-anchor': 'middle' }, 'time'),
  );
  svg.append(el('line', { x1: LEFT, x2: W - RIGHT, y1: TOP + plotH, y2: TOP + plotH, class: 'axis' }));

  const first = times[0]?.getTime();
  const last = times.at(-1)?.getTime();
  if (first === undefined || last === undefined) {
    svg.append(
      el(
        'text',
        { x: LEFT + plotW / 2, y: TOP + plotH / 2, class: 'empty', 'text-anchor': 'middle' },
        'no samples yet',
      ),
    );
  } else {
    const span = Math.max(1, last - first);
    const x = (t) => LEFT + (plotW * (t - first)) / span;
    const ticks = Math.min(5, times.length);
    for (let i = 0; i < ticks; i++) {
      const t = ticks === 1 ? last : first + (span * i) / (ticks - 1);
      const anchor = ticks === 1 ? 'end' : i === 0 ? 'start' : i === ticks - 1 ? 'end' : 'middle';
      svg.append(el('line', { x1: x(t), x2: x(t), y1: TOP + plotH, y2: TOP + plotH + 4, class: 'axis' }));
      svg.append(
        el(
          'text',
          { x: x(t), y: TOP + plotH + 16, class: 'x-label', 'text-anchor': anchor },
          clock(new Date(t)),
        ),
      );
    }
    for (const s of series) {
      let d = '';
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        d += `${d === '' || s.values[i - 1] === null ? 'M' : 'L'}${x(times[i].getTime()).toFixed(1)},${y(v).toFixed(1)}`;
      });
      if (d === '') continue;
      // A dashed line stays visible where it runs on top of another.
      svg.append(
        el('path', { d, class: 'line', stroke: s.color, ...(s.dashed ? { 'stroke-dasharray': '6 4' } : {}) }),
      );
    }
  }

  const legend = fig.querySelector('.legend');
  legend.replaceChildren();
  for (const s of series) {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = s.dashed ? 'swatch dashed' : 'swatch';
    swatch.style.color = s.color;
    li.append(swatch, document.createTextNode(s.name));
    legend.append(li);
  }
}
