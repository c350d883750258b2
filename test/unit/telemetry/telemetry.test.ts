// Small pure parts of telemetry: the OTLP URL rule, the bounded top-keys table, S3 log operation names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3LogOperation } from '../../../src/telemetry/access-log.js';
import { otlpMetricsUrl } from '../../../src/telemetry/metrics.js';
import { TopKeys } from '../../../src/telemetry/top-keys.js';

test('a bare OTLP endpoint gets /v1/metrics; a URL with a path is kept', () => {
  const cases: [string, string][] = [
    ['http://collector:4318', 'http://collector:4318/v1/metrics'],
    ['http://collector:4318/', 'http://collector:4318/v1/metrics'],
    ['https://otlp.example.com/v1/metrics', 'https://otlp.example.com/v1/metrics'],
    ['https://otlp.example.com/custom/path', 'https://otlp.example.com/custom/path'],
  ];
  for (const [endpoint, url] of cases) assert.equal(otlpMetricsUrl(endpoint), url, endpoint);
});

test('top keys are ordered by requests, and a long tail is dropped while the hot keys stay', () => {
  const top = new TopKeys(10);
  for (let i = 0; i < 50; i++) top.add('b', 'hot', 100, i > 0);
  for (let i = 0; i < 5; i++) top.add('b', 'warm', 10, false);
  for (let i = 0; i < 1000; i++) top.add('b', `cold-${i}`, 1, false);
  const first = top.top(2);
  assert.deepEqual(first, [
    { bucket: 'b', key: 'hot', requests: 50, hits: 49, bytes: 5000 },
    { bucket: 'b', key: 'warm', requests: 5, hits: 0, bytes: 50 },
  ]);
  assert.ok(top.top(1000).length <= 20, 'bounded at twice the limit');
});

test('S3 log operation names', () => {
  assert.equal(s3LogOperation('GET', 'GetObject'), 'REST.GET.OBJECT');
  assert.equal(s3LogOperation('HEAD', 'HeadObject'), 'REST.HEAD.OBJECT');
  assert.equal(s3LogOperation('GET', 'ListObjectsV2'), 'REST.GET.BUCKET');
  assert.equal(s3LogOperation('POST', 'DeleteObjects'), 'REST.POST.MULTI_OBJECT_DELETE');
  assert.equal(s3LogOperation('GET', 'Other'), 'REST.GET.OTHER');
});
