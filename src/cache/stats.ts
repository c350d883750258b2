// What the cache did, counted in one place: the JSON behind the admin `/stats` endpoint and the
// OpenTelemetry counters (src/telemetry/metrics.ts observes these numbers) read the same fields.

import { BYPASS_REASONS, type BypassReason } from '../s3/cacheable.js';

/** Why a GET or HEAD did not use the cache: S3-facing reasons, plus Kura's own. */
export type CacheBypass = BypassReason | 'rule' | 'response-no-store' | 'cache-error';

export type RevalidationOutcome = 'not-modified' | 'changed' | 'denied' | 'gone' | 'error' | 'stale-served';

/** Why an upload through Kura was forwarded without keeping its bytes. */
export const WRITE_REFUSALS = [
  'not-an-object',
  'bucket-name',
  'rule',
  'sse-c',
  'no-length',
  'too-large',
  'unknown-upload',
  'rejected',
  'incomplete',
  'framing',
  'part-missing',
  'parts-count',
  'cache-error',
] as const;

export type WriteRefusal = (typeof WRITE_REFUSALS)[number];

export class CacheStats {
  hits = 0;
  misses = 0;
  partial = 0;
  readonly revalidations: Record<RevalidationOutcome, number> = {
    'not-modified': 0,
    changed: 0,
    denied: 0,
    gone: 0,
    error: 0,
    'stale-served': 0,
  };
  readonly bypasses: Record<string, number> = Object.fromEntries(
    [...BYPASS_REASONS, 'rule', 'response-no-store', 'cache-error'].map((r) => [r, 0]),
  );
  /** Body bytes sent to clients from the RAM tier and from the volume, and received from S3 answers. */
  bytesFromRam = 0;
  bytesFromDisk = 0;
  bytesFromOrigin = 0;
  /** Chunk bytes written: before compression, and as stored. */
  bytesStoredRaw = 0;
  bytesStoredOnDisk = 0;
  chunksWritten = 0;
  /** Chunk files found corrupt or truncated (each one is a miss, then repaired). */
  corruptChunks = 0;
  /** Record files found damaged (a checksum that fails, another key, no file): each a miss, then removed. */
  corruptRecords = 0;
  /** Chunks not cached because the volume was behind (the write budget was spent), and failed writes. */
  chunksSkipped = 0;
  writeErrors = 0;
  /** Requests that waited for another request's fetch instead of asking S3 for the bytes again. */
  coalesced = 0;
  /** Fills whose client fell behind S3 and finished its answer from the cache while the fill went on. */
  fillsLeftBehind = 0;
  invalidations = 0;
  /** Permission changes of a bucket through Kura, each of which dropped every entry of that bucket. */
  bucketInvalidations = 0;
  ramHits = 0;
  /** Objects committed from a PUT or a completed multipart upload, and uploads (or parts) not kept. */
  writesCached = 0;
  readonly writesNotCached: Record<WriteRefusal, number> = Object.fromEntries(
    WRITE_REFUSALS.map((r) => [r, 0]),
  ) as Record<WriteRefusal, number>;
  partsStaged = 0;
  /** Object versions and bytes removed to keep the volume under capacity (by the eviction of the leader). */
  evictions = 0;
  evictedBytes = 0;

  get bytesFromCache(): number {
    return this.bytesFromRam + this.bytesFromDisk;
  }

  bypass(reason: CacheBypass): void {
    this.bypasses[reason] = (this.bypasses[reason] ?? 0) + 1;
  }

  toJSON(): Record<string, unknown> {
    return {
      hits: this.hits,
      misses: this.misses,
      partial: this.partial,
      revalidations: { ...this.revalidations },
      bypasses: { ...this.bypasses },
      bytes: {
        fromCache: this.bytesFromCache,
        fromRam: this.bytesFromRam,
        fromDisk: this.bytesFromDisk,
        fromOrigin: this.bytesFromOrigin,
        storedRaw: this.bytesStoredRaw,
        storedOnDisk: this.bytesStoredOnDisk,
      },
      chunksWritten: this.chunksWritten,
      corruptChunks: this.corruptChunks,
      corruptRecords: this.corruptRecords,
      chunksSkipped: this.chunksSkipped,
      writeErrors: this.writeErrors,
      coalesced: this.coalesced,
      fillsLeftBehind: this.fillsLeftBehind,
      invalidations: this.invalidations,
      bucketInvalidations: this.bucketInvalidations,
      ramHits: this.ramHits,
      writes: {
        cached: this.writesCached,
        notCached: { ...this.writesNotCached },
        partsStaged: this.partsStaged,
      },
      evictions: this.evictions,
      evictedBytes: this.evictedBytes,
    };
  }
}
