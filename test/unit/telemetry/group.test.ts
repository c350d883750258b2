// What a worker group's primary shows: the workers' metrics, /stats and readiness added up
// (src/telemetry/group.ts), read back the way Prometheus reads /metrics.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { METRICS } from '../../../src/telemetry/catalog.js';
import { groupMetrics, groupReadiness, groupStats, retire } from '../../../src/telemetry/group.js';
import { prometheusText } from '../../../src/telemetry/metrics.js';
import { parsePrometheus, sample } from '../../support/prometheus.js';

const T: [number, number] = [1_700_000_000, 0];

function metric(name: string, type: DataPointType, points: [Record<string, string>, unknown][]): MetricData {
  return {
    descriptor: { name, description: name, unit: '1', valueType: ValueType.INT, advice: {} },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: type,
    ...(type === DataPointType.SUM ? { isMonotonic: true } : {}),
    dataPoints: points.map(([attributes, value]) => ({ startTime: T, endTime: T, attributes, value })),
  } as MetricData;
}

function histogram(counts: number[], sum: number) {
  return {
    buckets: { boundaries: [0.1, 1], counts },
    count: counts.reduce((a, b) => a + b),
    sum,
    min: 0,
    max: 2,
  };
}

/** What one worker reports: requests, a latency histogram and the gauges whose merging differs. */
function worker(hits: number, misses: number, leader: number, ram: number): ScopeMetrics[] {
  return [
    {
      scope: { name: 'kura' },
      metrics: [
        metric(METRICS.requests.name, DataPointType.SUM, [
          [{ 'kura.cache.result': 'HIT' }, hits],
          [{ 'kura.cache.result': 'MISS' }, misses],
        ]),
        metric(METRICS.duration.name, DataPointType.HISTOGRAM, [
          [{ 'kura.cache.result': 'HIT' }, histogram([hits, 0, 0], hits * 0.01)],
        ]),
        metric(METRICS.leader.name, DataPointType.GAUGE, [[{}, leader]]),
        metric(METRICS.ramSize.name, DataPointType.GAUGE, [[{}, ram]]),
        metric(METRICS.cacheCapacity.name, DataPointType.GAUGE, [[{}, 1000]]),
        metric(METRICS.workers.name, DataPointType.GAUGE, [[{}, 1]]),
        metric(METRICS.workerRestarts.name, DataPointType.SUM, [[{}, 0]]),
      ],
    },
  ];
}

const resource = resourceFromAttributes({ 'service.name': 'kura' });

describe('group metrics', () => {
  test('counters and histograms are summed, gauges summed, taken once or labelled per worker', () => {
    const text = prometheusText(
      groupMetrics(
        resource,
        [
          { worker: 1, pid: 11, value: { resource, scopeMetrics: worker(5, 1, 1, 300) } },
          { worker: 2, pid: 12, value: { resource, scopeMetrics: worker(7, 2, 0, 200) } },
        ],
        [],
        { running: 2, restarts: 3 },
      ),
    );
    const s = parsePrometheus(text);
    assert.equal(sample(s, 'kura_requests_total', { kura_cache_result: 'HIT' }), 12);
    assert.equal(sample(s, 'kura_requests_total', { kura_cache_result: 'MISS' }), 3);
    assert.equal(sample(s, 'http_server_request_duration_count', { kura_cache_result: 'HIT' }), 12);
    assert.equal(
      sample(s, 'http_server_request_duration_bucket', { kura_cache_result: 'HIT', le: '0.1' }),
      12,
    );
    assert.equal(sample(s, 'kura_leader', { kura_worker: '1' }), 1);
    assert.equal(sample(s, 'kura_leader', { kura_worker: '2' }), 0);
    assert.equal(s.has('kura_leader'), false, 'no unlabelled leader point');
    assert.equal(sample(s, 'kura_cache_ram_size'), 500);
    assert.equal(sample(s, 'kura_cache_capacity'), 1000, 'the same in every worker: shown once');
    assert.equal(sample(s, 'kura_workers'), 2);
    assert.equal(sample(s, 'kura_worker_restarts_total'), 3);
  });

  test('what a dead worker counted stays in the sums; its gauges do not', () => {
    const retired = retire([], worker(4, 1, 1, 999));
    const s = parsePrometheus(
      prometheusText(
        groupMetrics(
          resource,
          [{ worker: 1, pid: 13, value: { resource, scopeMetrics: worker(2, 0, 0, 100) } }],
          retired,
          { running: 1, restarts: 1 },
        ),
      ),
    );
    assert.equal(sample(s, 'kura_requests_total', { kura_cache_result: 'HIT' }), 6);
    assert.equal(sample(s, 'kura_requests_total', { kura_cache_result: 'MISS' }), 1);
    assert.equal(sample(s, 'kura_cache_ram_size'), 100);
    assert.deepEqual(
      [...s.keys()].filter((k) => k.startsWith('kura_leader')),
      ['kura_leader{kura_worker="1"}'],
    );
  });
});

describe('group stats and readiness', () => {
  test('/stats sums the counters and lists every worker', () => {
    const one = (hits: number, leader: boolean, instance: string) => ({
      cache: { hits, bypasses: { 'sse-c': 1 } },
      requests: { active: 1 },
      ram: { bytes: 10 },
      volume: { dir: '/v', chunkSize: 1024, instance },
      rules: 3,
      fleet: { leader, evictions: 1 },
      passthrough: null,
      connect: null,
    });
    const s = groupStats([
      { worker: 1, pid: 1, value: one(2, false, 'a') },
      { worker: 2, pid: 2, value: one(5, true, 'b') },
    ]);
    assert.deepEqual(s.cache, { hits: 7, bypasses: { 'sse-c': 2 } });
    assert.deepEqual(s.ram, { bytes: 20 });
    assert.deepEqual(s.volume, { dir: '/v', chunkSize: 1024, instance: ['a', 'b'] });
    assert.equal(s.rules, 3);
    assert.deepEqual(s.fleet, { leader: true, evictions: 2 });
    assert.equal(s.passthrough, null);
    assert.equal((s.workers as unknown[]).length, 2);
  });

  test('ready while one worker is; not when none is, or when stopping', () => {
    const ok = { ready: true, checks: { volume: { ok: true } } };
    const bad = { ready: false, checks: { volume: { ok: false, problem: 'EROFS' } } };
    assert.equal(
      groupReadiness(
        [
          { worker: 1, pid: 1, value: bad },
          { worker: 2, pid: 2, value: ok },
        ],
        2,
        false,
      ).ready,
      true,
    );
    const none = groupReadiness(
      [
        { worker: 1, pid: 1, value: bad },
        { worker: 2, pid: 2, value: null },
      ],
      2,
      false,
    );
    assert.equal(none.ready, false);
    assert.deepEqual(none.checks.workers, { ok: false, problem: 'no worker is ready (1 of 2 answered)' });
    assert.deepEqual(none.checks.volume, { ok: false, problem: 'EROFS' });
    assert.equal(groupReadiness([{ worker: 1, pid: 1, value: ok }], 1, true).ready, false);
  });
});
