// Every metric Kura exports, in one table: the instruments are made from it, and docs/operations.md
// lists the same names (a test compares them).

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';

export interface MetricSpec {
  name: string;
  kind: InstrumentKind;
  unit: string;
  description: string;
  /** Attribute keys its points carry. */
  attributes: readonly string[];
  /**
   * How a worker group (server.workers > 1) shows a gauge: summed over workers, the largest value (every
   * worker reports the same thing), or one point per worker labelled `kura.worker`. Counters and
   * histograms are always summed.
   */
  acrossWorkers?: 'sum' | 'max' | 'each';
}

const spec = (
  name: string,
  kind: InstrumentKind,
  unit: string,
  attributes: readonly string[],
  description: string,
  acrossWorkers?: MetricSpec['acrossWorkers'],
): MetricSpec => ({ name, kind, unit, attributes, description, ...(acrossWorkers ? { acrossWorkers } : {}) });

export const METRICS = {
  requests: spec(
    'kura.requests',
    'counter',
    '{request}',
    ['kura.operation', 'kura.cache.result'],
    'requests ended, by S3 operation and X-Cache value (NONE when the cache had no say)',
  ),
  bytes: spec(
    'kura.bytes',
    'counter',
    'By',
    ['kura.source', 'network.io.direction'],
    'bytes by source: body bytes sent to clients from RAM or disk, body bytes received from S3, wire bytes of client connections',
  ),
  lookups: spec(
    'kura.cache.lookups',
    'counter',
    '{lookup}',
    ['kura.cache.result'],
    'answers the cache gave from its records: hit, miss or partial',
  ),
  revalidations: spec(
    'kura.cache.revalidations',
    'counter',
    '{revalidation}',
    ['kura.revalidation.outcome'],
    'stale entries checked with S3, by outcome',
  ),
  bypasses: spec(
    'kura.cache.bypasses',
    'counter',
    '{request}',
    ['kura.bypass.reason'],
    'GET and HEAD requests the cache let pass, by reason',
  ),
  uploads: spec(
    'kura.cache.uploads',
    'counter',
    '{upload}',
    ['kura.outcome', 'kura.write.reason'],
    'PUT and multipart uploads through Kura: cached (committed as the new version), staged (a multipart part kept), or not cached (by reason)',
  ),
  evictions: spec(
    'kura.cache.evictions',
    'counter',
    '{object}',
    [],
    'object versions removed from the volume to keep it under capacity',
  ),
  evictedBytes: spec(
    'kura.cache.evicted',
    'counter',
    'By',
    [],
    'bytes removed from the volume to keep it under capacity',
  ),
  chunkWrites: spec(
    'kura.cache.chunk.writes',
    'counter',
    '{chunk}',
    ['kura.outcome'],
    'chunk files written, skipped because the volume was behind, refused because it was full, or failed',
  ),
  stored: spec(
    'kura.cache.stored',
    'counter',
    'By',
    ['kura.encoding'],
    'chunk bytes written to the volume: raw (before compression) and stored (on disk)',
  ),
  corrupt: spec(
    'kura.cache.chunks.corrupt',
    'counter',
    '{chunk}',
    [],
    'chunk files found corrupt or truncated, served from S3 and removed',
  ),
  corruptRecords: spec(
    'kura.cache.records.corrupt',
    'counter',
    '{record}',
    [],
    'object record files found damaged (checksum, key or file type), treated as misses and removed',
  ),
  coalesced: spec(
    'kura.cache.coalesced',
    'counter',
    '{wait}',
    [],
    "times a request waited for another request's fetch instead of asking S3 again",
  ),
  invalidations: spec(
    'kura.cache.invalidations',
    'counter',
    '{object}',
    [],
    'keys dropped because a write through Kura changed them',
  ),
  upstreamErrors: spec(
    'kura.upstream.errors',
    'counter',
    '{error}',
    ['error.type'],
    'upstream requests that failed, by kind (timeout, connect, dns, reset, tls, http_5xx, busy, other)',
  ),
  passthrough: spec(
    'kura.passthrough.connections',
    'counter',
    '{connection}',
    ['kura.listener', 'kura.outcome'],
    'raw TCP connections of the :443 passthrough and CONNECT tunnels: relayed or refused',
  ),
  ttfb: spec(
    'kura.request.time_to_first_byte',
    'histogram',
    's',
    ['kura.cache.result'],
    'time from the request to the first byte of the response head, by X-Cache value',
  ),
  duration: spec(
    'http.server.request.duration',
    'histogram',
    's',
    ['http.request.method', 'http.response.status_code', 'kura.cache.result'],
    'time from the request to the last byte of the response, by method, status code and X-Cache value',
  ),
  cacheSize: spec(
    'kura.cache.size',
    'gauge',
    'By',
    [],
    'bytes of cached data on the volume (the leader count when known, else this instance scanning data/)',
    'max',
  ),
  cacheCapacity: spec('kura.cache.capacity', 'gauge', 'By', [], 'cache.max_size', 'max'),
  ramSize: spec('kura.cache.ram.size', 'gauge', 'By', [], 'bytes held by the RAM tier', 'sum'),
  ramCapacity: spec('kura.cache.ram.capacity', 'gauge', 'By', [], 'cache.ram_size', 'sum'),
  activeRequests: spec(
    'kura.requests.active',
    'gauge',
    '{request}',
    [],
    'requests received and not yet ended',
    'sum',
  ),
  activeFetches: spec(
    'kura.upstream.active',
    'gauge',
    '{request}',
    [],
    'requests to S3 sent and not yet ended (body included)',
    'sum',
  ),
  waitingFetches: spec(
    'kura.upstream.waiting',
    'gauge',
    '{request}',
    [],
    'requests waiting for a free connection to S3 (upstream.queue_timeout at most)',
  ),
  leader: spec(
    'kura.leader',
    'gauge',
    '1',
    ['kura.worker'],
    '1 when this process holds the leader lock of the volume, 0 when not (or not known); per worker',
    'each',
  ),
  gatewayOrigins: spec(
    'kura.gateway.origin.state',
    'gauge',
    '1',
    ['kura.origin'],
    'circuit breaker of each gateway origin: 0 closed, 1 half-open (one probe may go), 2 open (skipped)',
    'max',
  ),
  ready: spec(
    'kura.ready',
    'gauge',
    '1',
    [],
    '1 when /health/ready answers 200 (the instance should get traffic), else 0',
    'max',
  ),
  workers: spec(
    'kura.workers',
    'gauge',
    '{process}',
    [],
    'worker processes serving the listeners (server.workers; 1 without a worker group)',
    'max',
  ),
  workerRestarts: spec(
    'kura.worker.restarts',
    'counter',
    '{process}',
    [],
    'worker processes started again after one died',
  ),
} as const;

export type MetricKey = keyof typeof METRICS;
