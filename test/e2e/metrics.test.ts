// Metrics as a scraper and a collector see them: /metrics scraped before and after known traffic, with
// exact counter deltas, and the same counters and latencies pushed over OTLP/HTTP to a local receiver.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkClient, sdkGet, sdkHead } from '../support/cache-client.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { type Samples, sample, scrape } from '../support/prometheus.js';

const BUCKET = 'kura-test';

let origin: MemoryOrigin;
let kura: TestKura;
let admin: string;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'admin.port': await freePort() },
  });
  admin = `http://127.0.0.1:${kura.adminPort}`;
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

function delta(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): number {
  return sample(after, name, labels) - sample(before, name, labels);
}

describe('/metrics', () => {
  test('a miss, a hit, a HEAD and a PUT move the counters by exactly what they did', async () => {
    const client = sdkClient(kura.url);
    const body = randomBytes(200_000);
    origin.put(BUCKET, 'metrics/a.bin', body);
    const m0 = await scrape(admin);

    const miss = await sdkGet(client, BUCKET, 'metrics/a.bin');
    assert.equal(miss.xCache, 'MISS');
    assert.ok(miss.body.equals(body));
    const m1 = await scrape(admin);
    assert.equal(
      delta(m0, m1, 'kura_requests_total', { kura_operation: 'GetObject', kura_cache_result: 'MISS' }),
      1,
    );
    assert.equal(
      delta(m0, m1, 'kura_bytes_total', { kura_source: 's3', network_io_direction: 'receive' }),
      body.length,
    );
    assert.equal(delta(m0, m1, 'kura_cache_lookups_total', { kura_cache_result: 'miss' }), 1);
    assert.equal(delta(m0, m1, 'kura_request_time_to_first_byte_count', { kura_cache_result: 'MISS' }), 1);

    const hit = await sdkGet(client, BUCKET, 'metrics/a.bin');
    assert.equal(hit.xCache, 'HIT');
    assert.ok(hit.body.equals(body));
    const head = await sdkHead(client, BUCKET, 'metrics/a.bin');
    assert.equal(head.ContentLength, body.length);
    const m2 = await scrape(admin);
    assert.equal(
      delta(m1, m2, 'kura_requests_total', { kura_operation: 'GetObject', kura_cache_result: 'HIT' }),
      1,
    );
    assert.equal(
      delta(m1, m2, 'kura_requests_total', { kura_operation: 'HeadObject', kura_cache_result: 'HIT' }),
      1,
    );
    const fromCache =
      delta(m1, m2, 'kura_bytes_total', { kura_source: 'ram', network_io_direction: 'transmit' }) +
      delta(m1, m2, 'kura_bytes_total', { kura_source: 'disk', network_io_direction: 'transmit' });
    assert.equal(fromCache, body.length, 'the hit sent every body byte from RAM or disk');
    assert.equal(
      delta(m1, m2, 'kura_bytes_total', { kura_source: 's3', network_io_direction: 'receive' }),
      0,
    );
    assert.equal(delta(m1, m2, 'kura_cache_lookups_total', { kura_cache_result: 'hit' }), 2);
    assert.equal(
      delta(m1, m2, 'http_server_request_duration_count', {
        http_request_method: 'GET',
        http_response_status_code: '200',
        kura_cache_result: 'HIT',
      }),
      1,
    );
    assert.equal(
      delta(m1, m2, 'http_server_request_duration_count', {
        http_request_method: 'HEAD',
        http_response_status_code: '200',
        kura_cache_result: 'HIT',
      }),
      1,
    );
    assert.ok(
      delta(m1, m2, 'kura_bytes_total', { kura_source: 'client', network_io_direction: 'transmit' }) >
        body.length,
      'wire bytes to clients count bodies and heads',
    );

    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'metrics/a.bin', Body: Buffer.from('new') }),
    );
    const m3 = await scrape(admin);
    assert.equal(
      delta(m2, m3, 'kura_requests_total', { kura_operation: 'PutObject', kura_cache_result: 'NONE' }),
      1,
    );
    assert.equal(delta(m2, m3, 'kura_cache_invalidations_total'), 1);
    assert.equal(sample(m3, 'kura_requests_active'), 0);
    // Every upstream body was consumed or dropped: none is left counted as in flight.
    let upstreamActive = sample(m3, 'kura_upstream_active');
    for (let i = 0; i < 100 && upstreamActive !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      upstreamActive = sample(await scrape(admin), 'kura_upstream_active');
    }
    assert.equal(upstreamActive, 0);
  });

  test('S3 answering 503 counts one upstream error of kind http_5xx', async () => {
    const client = sdkClient(kura.url);
    origin.put(BUCKET, 'metrics/busy.bin', randomBytes(1000));
    const m0 = await scrape(admin);
    origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown' });
    const res = await sdkGet(client, BUCKET, 'metrics/busy.bin');
    assert.equal(res.status, 503);
    const m1 = await scrape(admin);
    assert.equal(delta(m0, m1, 'kura_upstream_errors_total', { error_type: 'http_5xx' }), 1);
    let requests = 0;
    let answered503 = 0;
    for (const [id, v] of m1) {
      if (id.startsWith('kura_requests_total{')) requests += v - (m0.get(id) ?? 0);
      if (id.startsWith('http_server_request_duration_count{') && id.includes('status_code="503"'))
        answered503 += v - (m0.get(id) ?? 0);
    }
    assert.equal(requests, 1);
    assert.equal(answered503, 1, 'the 503 is counted under its status code');
  });

  test('a connection the :443 passthrough refuses is counted once, as refused', async () => {
    const relay = await startTestKura({
      origin: origin.url,
      settings: { 'admin.port': await freePort(), 'server.https_port': await freePort() },
    });
    try {
      const relayAdmin = `http://127.0.0.1:${relay.adminPort}`;
      const m0 = await scrape(relayAdmin);
      const socket = connect(relay.httpsPort as number, '127.0.0.1');
      socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.resume();
      await once(socket, 'close');
      let m1 = await scrape(relayAdmin);
      const refused = { kura_listener: 'passthrough', kura_outcome: 'refused' };
      for (let i = 0; i < 100 && delta(m0, m1, 'kura_passthrough_connections_total', refused) === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        m1 = await scrape(relayAdmin);
      }
      assert.equal(delta(m0, m1, 'kura_passthrough_connections_total', refused), 1);
      assert.equal(
        delta(m0, m1, 'kura_passthrough_connections_total', { ...refused, kura_outcome: 'relayed' }),
        0,
      );
    } finally {
      await relay.close();
    }
  });

  test('gauges report the configured capacities, what the RAM tier holds and the leader', async () => {
    // A Kura of its own, so the RAM tier holds exactly the object read here.
    const k = await startTestKura({
      origin: origin.url,
      settings: { 'cache.chunk_size': '64KiB', 'cache.ram_size': '3MiB', 'admin.port': await freePort() },
    });
    try {
      const url = `http://127.0.0.1:${k.adminPort}`;
      const m0 = await scrape(url);
      assert.equal(sample(m0, 'kura_cache_capacity'), 100 * 2 ** 30);
      assert.equal(sample(m0, 'kura_cache_ram_capacity'), 3 * 2 ** 20);
      assert.equal(sample(m0, 'kura_cache_ram_size'), 0);
      const body = randomBytes(3 * 64 * 1024 + 5);
      origin.put(BUCKET, 'metrics/gauge.bin', body);
      const client = sdkClient(k.url);
      assert.equal((await sdkGet(client, BUCKET, 'metrics/gauge.bin')).xCache, 'MISS');
      // The hit reads every chunk, which leaves all of them in RAM: the object's size, decoded.
      assert.ok((await sdkGet(client, BUCKET, 'metrics/gauge.bin')).body.equals(body));
      assert.equal(sample(await scrape(url), 'kura_cache_ram_size'), body.length);
      // Alone on its volume, the instance takes the leader lock at its first maintenance round.
      let leader = sample(await scrape(url), 'kura_leader');
      for (let i = 0; i < 100 && leader !== 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        leader = sample(await scrape(url), 'kura_leader');
      }
      assert.equal(leader, 1, 'the only instance on the volume leads');
      assert.equal(sample(await scrape(url), 'kura_ready'), 1, '/health/ready answers 200');
    } finally {
      await k.close();
    }
  });

  test('after traffic, is Prometheus text with every kind of instrument', async () => {
    const res = await fetch(`${admin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# TYPE kura_requests_total counter$/m);
    assert.match(text, /^# TYPE http_server_request_duration histogram$/m);
    assert.match(text, /^# TYPE kura_cache_evictions_total counter$/m);
    assert.match(text, /^# TYPE kura_cache_capacity gauge$/m);
    assert.match(text, /^target_info\{service_name="kura"/m);
  });
});

/** OTLP/HTTP JSON as the exporter sends it (only the parts the test reads). */
interface OtlpExport {
  resourceMetrics: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeMetrics: {
      metrics: {
        name: string;
        sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean };
        histogram?: { dataPoints: { count: string | number; attributes: OtlpAttr[] }[] };
      }[];
    }[];
  }[];
}
type OtlpAttr = { key: string; value: { stringValue?: string } };
type OtlpPoint = { asInt?: string | number; asDouble?: number; attributes: OtlpAttr[] };

function attrs(list: OtlpAttr[]): Record<string, string> {
  return Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? '']));
}

type OtlpMetric = OtlpExport['resourceMetrics'][number]['scopeMetrics'][number]['metrics'][number];

/** The first point of metric `name` (its points as `pointsOf` finds them) whose attributes hold `want`. */
function pointIn<P extends { attributes: OtlpAttr[] }>(
  e: OtlpExport,
  name: string,
  pointsOf: (m: OtlpMetric) => P[] | undefined,
  want: Record<string, string>,
): P | null {
  for (const rm of e.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        if (m.name !== name) continue;
        for (const p of pointsOf(m) ?? []) {
          const a = attrs(p.attributes);
          if (Object.entries(want).every(([k, v]) => a[k] === v)) return p;
        }
      }
    }
  }
  return null;
}

describe('OTLP export', () => {
  test('pushes the same counters to a bare endpoint, with the configured headers', async () => {
    const pushes: { path: string; headers: IncomingHttpHeaders; body: OtlpExport }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        pushes.push({
          path: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const port = (receiver.address() as AddressInfo).port;
    const pushing = await startTestKura({
      origin: origin.url,
      settings: {
        'telemetry.otlp.endpoint': `http://127.0.0.1:${port}`,
        'telemetry.otlp.interval': '200ms',
        'telemetry.otlp.headers': { 'x-collector-token': 'secret-123' },
      },
    });
    try {
      const client = sdkClient(pushing.url);
      const body = randomBytes(50_000);
      origin.put(BUCKET, 'metrics/otlp.bin', body);
      assert.equal((await sdkGet(client, BUCKET, 'metrics/otlp.bin')).xCache, 'MISS');
      assert.equal((await sdkGet(client, BUCKET, 'metrics/otlp.bin')).xCache, 'HIT');

      const counted = (e: OtlpExport, name: string, want: Record<string, string>): number | null => {
        const p = pointIn(e, name, (m) => m.sum?.dataPoints, want);
        return p === null ? null : Number(p.asInt ?? p.asDouble);
      };
      let found: OtlpExport | null = null;
      for (let i = 0; i < 100 && found === null; i++) {
        found =
          pushes
            .map((p) => p.body)
            .find(
              (b) =>
                counted(b, 'kura.requests', { 'kura.operation': 'GetObject', 'kura.cache.result': 'HIT' }) ===
                  1 &&
                counted(b, 'kura.requests', {
                  'kura.operation': 'GetObject',
                  'kura.cache.result': 'MISS',
                }) === 1,
            ) ?? null;
        if (found === null) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(found, `no push held the two requests (${pushes.length} pushes)`);
      const timed = (e: OtlpExport, name: string, want: Record<string, string>): number | null => {
        const p = pointIn(e, name, (m) => m.histogram?.dataPoints, want);
        return p === null ? null : Number(p.count);
      };
      // The latencies go out with the counters (src/telemetry/request-latency.ts).
      for (const result of ['MISS', 'HIT']) {
        const want = { 'http.request.method': 'GET', 'kura.cache.result': result };
        assert.equal(timed(found, 'http.server.request.duration', want), 1, `the ${result}'s duration`);
        assert.equal(
          timed(found, 'kura.request.time_to_first_byte', { 'kura.cache.result': result }),
          1,
          `the ${result}'s time to first byte`,
        );
      }
      assert.equal(
        counted(found, 'kura.bytes', { 'kura.source': 's3', 'network.io.direction': 'receive' }),
        body.length,
      );
      const resource = attrs(found.resourceMetrics[0]?.resource.attributes ?? []);
      assert.equal(resource['service.name'], 'kura');
      const push = pushes[0];
      assert.ok(push);
      assert.equal(push.path, '/v1/metrics', 'a bare endpoint gets the standard path');
      assert.equal(push.headers['x-collector-token'], 'secret-123');
      assert.match(push.headers['content-type'] ?? '', /application\/json/);
    } finally {
      await pushing.close();
      receiver.close();
    }
  });
});
