// The request-latency histograms as both metric readers collect them: the SDK's explicit-bucket shape
// (inclusive upper bounds, cumulative counts, sum, count, min, max), one series per attribute set, and
// nothing before the first measurement.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Histogram, HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../../src/telemetry/catalog.js';
import { RequestLatency } from '../../../src/telemetry/request-latency.js';

async function collected(latency: RequestLatency): Promise<Map<string, HistogramMetricData>> {
  const { resourceMetrics } = await latency.collect();
  const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) as HistogramMetricData[];
  return new Map(metrics.map((m) => [m.descriptor.name, m]));
}

function pointOf(m: HistogramMetricData | undefined, attributes: Record<string, string | number>): Histogram {
  const point = m?.dataPoints.find((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  assert.ok(point, `a point with ${JSON.stringify(attributes)}`);
  return point.value;
}

test('no histogram before the first request; then one series per attribute set, bounds inclusive', async () => {
  const latency = new RequestLatency(METRICS, [0.001, 0.01, 0.1], { name: 'kura', version: 'test' });
  assert.equal((await collected(latency)).size, 0);

  latency.record('GET', 200, 'HIT', 0.0005, 0.001); // on a boundary: that bucket
  latency.record('GET', 200, 'HIT', 0.002, 0.05);
  latency.record('GET', 200, 'MISS', 0.02, 0.5); // past the last boundary: the overflow bucket
  latency.record('HEAD', 304, 'HIT', null, 0.0001); // no head time: no time-to-first-byte point

  const metrics = await collected(latency);
  const duration = metrics.get(METRICS.duration.name);
  const ttfb = metrics.get(METRICS.ttfb.name);
  assert.equal(duration?.descriptor.unit, 's');
  assert.equal(duration?.dataPoints.length, 3);

  const hits = pointOf(duration, {
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'kura.cache.result': 'HIT',
  });
  assert.deepEqual(hits.buckets, { boundaries: [0.001, 0.01, 0.1], counts: [1, 0, 1, 0] });
  assert.equal(hits.count, 2);
  assert.ok(Math.abs((hits.sum ?? 0) - 0.051) < 1e-12);
  assert.equal(hits.min, 0.001);
  assert.equal(hits.max, 0.05);
  const miss = pointOf(duration, { 'kura.cache.result': 'MISS' });
  assert.deepEqual(miss.buckets.counts, [0, 0, 0, 1]);
  const head = pointOf(duration, { 'http.request.method': 'HEAD', 'http.response.status_code': 304 });
  assert.deepEqual(head.buckets.counts, [1, 0, 0, 0]);

  assert.equal(ttfb?.dataPoints.length, 2, 'HIT and MISS: the HEAD sent no time to first byte');
  assert.deepEqual(pointOf(ttfb, { 'kura.cache.result': 'HIT' }).buckets.counts, [1, 1, 0, 0]);
  assert.equal(pointOf(ttfb, { 'kura.cache.result': 'HIT' }).count, 2);

  // Cumulative: a later collection keeps what the earlier one saw.
  latency.record('GET', 200, 'HIT', 0.0005, 0.2);
  const later = pointOf((await collected(latency)).get(METRICS.duration.name), {
    'kura.cache.result': 'HIT',
    'http.request.method': 'GET',
  });
  assert.equal(later.count, 3);
  assert.deepEqual(later.buckets.counts, [1, 0, 1, 1]);
});
