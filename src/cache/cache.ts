// The cache of one instance: the shared volume's stores, the RAM tier, in-flight fetches, the rules
// and the counters, opened together at start-up.

import { RulesFile } from '../config/rules.js';
import type { KuraConfig } from '../config/schema.js';
import { isStorableBucket } from '../s3/bucket-name.js';
import type { S3Request } from '../s3/types.js';
import { BufferPool } from '../store/buffer-pool.js';
import { chunkHeaderLength } from '../store/chunk-file.js';
import { ChunkStore } from '../store/chunks.js';
import { capacityLimits } from '../store/eviction.js';
import { Fleet } from '../store/fleet.js';
import { POOLED_AFTER_SLOW_MS } from '../store/fs-calls.js';
import { keyName, versionName } from '../store/key-names.js';
import { recordedKeys } from '../store/purge.js';
import { RecordStore } from '../store/records.js';
import type { ObjectKey, ObjectRecord, ObjectVersion } from '../store/types.js';
import { UploadStaging } from '../store/upload-staging.js';
import { openVolume, type Volume } from '../store/volume.js';
import type { Logger } from '../telemetry/log.js';
import type { Route } from '../upstream/route.js';
import type { SinkTarget } from './chunk-sink.js';
import { isExpired } from './freshness.js';
import { HitAuthMemo } from './hit-auth.js';
import { Inflight } from './inflight.js';
import { Listings } from './list/listings.js';
import { RamTier } from './ram-tier.js';
import { CacheStats } from './stats.js';
import { WriteBudget } from './write-budget.js';

/** Records removed at once by a bucket-wide invalidation: enough to overlap the file system's latency. */
const BUCKET_INVALIDATION_BATCH = 16;
/**
 * Cell buffers kept free at most: enough for a few answers streaming at full speed (their read-ahead, the
 * chunks on their way to the disk); beyond that, buffers are allocated and collected as before.
 */
const CELL_POOL_SLABS = 16;
/**
 * Bytes of chunks waiting for the disk, at least (or 16 chunks if larger): enough for the bursts of a fast
 * origin onto a slower volume. On a volume that stays behind, a fill skips chunks once any budget is
 * spent, so a larger one buys little coverage; its bytes are most of a cold fill's memory with the RAM
 * tier off (32 MiB against 64: a cold 1 GiB peaked at 149–166 MiB RSS against 140–231, and left 1–2 %
 * of the chunks to a later request against 0–0.1 %, on one machine).
 */
const WRITE_BUDGET_BYTES = 32 * 2 ** 20;

export class Cache {
  readonly stats = new CacheStats();
  readonly inflight = new Inflight();
  readonly chunks: ChunkStore;
  readonly records: RecordStore;
  readonly uploads: UploadStaging;
  readonly ram: RamTier;
  readonly budget: WriteBudget;
  /**
   * Buffers of one cell (and a chunk file's header): for cells read from plain-HTTP origins, and chunk
   * files read to be sent and not kept in RAM. Fills, answers and the chunk writer count their holds
   * (src/store/buffer-pool.ts); a buffer the RAM tier keeps never goes back.
   */
  readonly cellPool: BufferPool;
  /** Which credentials S3 recently let read which buckets (cache.hit_auth). */
  readonly hitAuth = new HitAuthMemo();
  /** This instance's part in the fleet sharing the volume: journal, leases, maintenance leader. */
  readonly fleet: Fleet;
  /** Listings kept where a rule's list_ttl says so, and the marks that date them. */
  readonly listings: Listings;
  /** Uploads of larger objects are forwarded without keeping their bytes (cache.write_max_object_size). */
  readonly writeMaxSize: number;

  private constructor(
    readonly volume: Volume,
    readonly rules: RulesFile,
    readonly log: Logger,
    /** Missing runs closer than this many bytes are fetched as one. */
    readonly mergeGap: number,
    /** Longest wait for another request's fetch before asking S3 itself. */
    readonly waitMs: number,
    ramSize: number,
    config: KuraConfig['cache'],
  ) {
    this.chunks = new ChunkStore(volume, (path, reason) => {
      this.stats.corruptChunks += 1;
      log.warn('corrupt chunk removed; served from S3 instead', { path, reason });
    });
    this.records = new RecordStore(volume, {
      onDamaged: (path, reason) => {
        this.stats.corruptRecords += 1;
        log.warn('damaged object record removed; the read is a miss', { path, reason });
      },
      recheckMs: config.record_recheck,
    });
    this.uploads = new UploadStaging(volume);
    this.listings = new Listings(volume);
    this.listings.onMarkFailed = (err) =>
      log.warn('could not mark a bucket changed; its listings may be served until list_ttl', {
        error: err.message,
      });
    this.writeMaxSize = config.write_max_object_size;
    // A full chunk fits a slab, and a partial one with up to 512 extents.
    this.cellPool = new BufferPool(
      volume.chunkSize + chunkHeaderLength(512, volume.chunkSize),
      CELL_POOL_SLABS,
    );
    this.ram = new RamTier(ramSize, this.cellPool);
    this.budget = new WriteBudget(Math.max(WRITE_BUDGET_BYTES, 16 * volume.chunkSize));
    this.fleet = new Fleet(volume, this.records, this.chunks, {
      limits: capacityLimits({
        maxBytes: config.max_size,
        triggerPercent: config.eviction_trigger,
        targetPercent: config.eviction_target,
        admissionMs: config.admission_window,
        writeSharePercent: config.write_share,
      }),
      minFreePercent: config.min_free,
      journalFlushMs: config.journal_flush,
      journalSegmentBytes: config.journal_segment_size,
      journalSegmentAgeMs: config.journal_segment_age,
      leaderStaleMs: config.leader_stale,
      leaseMs: config.lease_time,
      scanIntervalMs: config.scan_interval,
      uploadTtlMs: config.upload_ttl,
      isExpired:
        config.expiration === 'active'
          ? (record, now) => isExpired(record, this.rules.rules.ruleFor(record.bucket, record.key), now)
          : null,
      onEvicted: (report) => {
        this.stats.evictions += report.objects;
        this.stats.evictedBytes += report.bytes;
      },
      log,
    });
  }

  static async open(config: KuraConfig, log: Logger): Promise<Cache> {
    const c = config.cache;
    const onSlowCall = (call: string, ms: number) =>
      log.warn('a volume call held the event loop; volume calls go through the thread pool for a while', {
        call,
        ms: Math.round(ms),
        pooledForMs: POOLED_AFTER_SLOW_MS,
      });
    const volume = await openVolume({ dir: c.dir, chunkSize: c.chunk_size, onSlowCall }).catch(
      (err: Error) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined) throw err;
        throw new Error(
          `cache.dir ${c.dir}: cannot open the volume (${err.message}); ` +
            'choose a writable directory with --cache-dir or KURA_CACHE_DIR',
        );
      },
    );
    if (volume.configuredChunkSizeIgnored) {
      log.warn('cache.chunk_size differs from the volume; the volume keeps its own', {
        volume: volume.chunkSize,
        configured: c.chunk_size,
      });
    }
    const rules = await RulesFile.open(
      c.rules,
      {
        getTtl: c.get_ttl,
        headTtl: c.head_ttl,
        staleIfError: c.stale_if_error,
        listTtl: c.list_ttl,
        hitAuth: c.hit_auth,
      },
      log,
    );
    const cache = new Cache(
      volume,
      rules,
      log,
      c.fetch_merge_gap,
      config.upstream.first_byte_timeout,
      c.ram_size,
      c,
    );
    try {
      await cache.fleet.start();
    } catch (err) {
      rules.close();
      throw new Error(`cache.dir ${c.dir}: cannot start the journal (${(err as Error).message})`);
    }
    return cache;
  }

  /** Where a fill of `version` commits its chunks; `object` is what the record says, or will. */
  sinkTarget(
    version: ObjectVersion,
    versionId: string,
    object: Pick<ObjectRecord, 'size' | 'codec'>,
  ): SinkTarget {
    return {
      chunks: this.chunks,
      inflight: this.inflight,
      stats: this.stats,
      log: this.log,
      budget: this.budget,
      version,
      versionId,
      size: object.size,
      chunkSize: this.volume.chunkSize,
      codec: object.codec,
      sniff: null,
      pool: this.cellPool,
    };
  }

  /** The object changed under this version: drop the record if it still names it, and its bytes. */
  async forget(version: ObjectVersion): Promise<void> {
    try {
      await this.records.update(version, (current) => (current?.etag === version.etag ? null : undefined));
    } catch (err) {
      this.log.warn('could not drop a changed object record', {
        key: version.key,
        error: (err as Error).message,
      });
    }
    this.dropVersionData(version);
  }

  /** Drops a version's chunks in the background: nothing reaches them once no record names the ETag. */
  dropVersionData(version: ObjectVersion): void {
    // Every cell's name starts with the version's (`cellName`).
    this.ram.deletePrefix(`${versionName(version).id}/`);
    this.chunks.removeVersion(version).catch((err: Error) => {
      this.log.debug('could not remove an old version', { key: version.key, error: err.message });
    });
  }

  /** A write through Kura changed the object: forget everything about it. */
  async invalidate(key: ObjectKey): Promise<void> {
    this.stats.invalidations += 1;
    // Listings are kept whatever the bucket's name (the mark's file is named by a hash).
    const listed = this.listings.written(key.namespace, key.bucket);
    // A bucket name the volume cannot hold has nothing cached (the read path bypasses it).
    if (!isStorableBucket(key.bucket)) return listed;
    try {
      await this.records.remove(key);
    } catch (err) {
      this.log.warn('could not drop an object record after a write', {
        key: key.key,
        error: (err as Error).message,
      });
    }
    this.ram.deletePrefix(`${keyName(key)}\n`);
    // Best effort: with the record gone nothing reads these chunks; the rolling scan removes them.
    await Promise.all([this.chunks.removeObject(key).catch(() => {}), listed]);
  }

  /**
   * A permission change of the bucket through Kura: any cached answer of it may be one S3 would now
   * refuse, so every entry of the bucket in this namespace goes, O(entries), a few at a time. An entry
   * whose fill is still on its way when the walk passes may come back with what S3 answered before the
   * change, as any read racing a write does.
   */
  async invalidateBucket(namespace: string, bucket: string): Promise<void> {
    this.stats.bucketInvalidations += 1;
    const listed = this.listings.written(namespace, bucket);
    // A name that cannot be a directory has nothing on the volume, and must not be joined into a path.
    if (!isStorableBucket(bucket)) return listed;
    const batch: Promise<void>[] = [];
    for await (const key of recordedKeys(this.volume.dir, bucket)) {
      if (key.namespace !== namespace) continue;
      batch.push(this.invalidate(key));
      if (batch.length >= BUCKET_INVALIDATION_BATCH) await Promise.all(batch.splice(0));
    }
    await Promise.all([...batch, listed]);
    this.ram.deletePrefix(`${namespace}\n${bucket}\n`);
    this.hitAuth.forgetBucket(namespace, bucket);
  }

  /** Stops the rules watcher, flushes the journal and gives up the leader lock. */
  async close(): Promise<void> {
    this.rules.close();
    await this.fleet.close();
  }
}

/**
 * Which bucket namespace a request reaches: AWS buckets share one global namespace whatever endpoint
 * names them (access points are per region), while an override is its own store.
 */
export function namespaceOf(s3: S3Request, route: Route): string {
  if (route.via !== 's3') return route.origin;
  if (s3.endpoint.kind === 'aws-access-point') return `aws-ap:${s3.endpoint.region ?? ''}`;
  return 'aws';
}
