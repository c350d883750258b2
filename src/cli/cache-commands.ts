// `kura cache stats | verify | purge`: the operator's view of the shared volume, straight from its files
// (no instance needs to answer). Safe while instances run: stats and verify only read; purge removes
// records under their locks and journals what it removed, as an instance would.

import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KuraConfig } from '../config/schema.js';
import { describeDuration, describeSize } from '../config/units.js';
import { isStorableBucket } from '../s3/bucket-name.js';
import { ChunkStore } from '../store/chunks.js';
import { type FleetStatus, readFleetStatus } from '../store/fleet-status.js';
import { Journal } from '../store/journal.js';
import { purgeVolume } from '../store/purge.js';
import { RecordStore } from '../store/records.js';
import { type VerifyReport, verifyVolume } from '../store/verify.js';
import { MANIFEST_NAME, openVolume } from '../store/volume.js';

export interface CacheIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Exit codes: 0 healthy/done, 1 not healthy or failed, 2 bad usage. */
async function requireVolume(dir: string, io: CacheIO): Promise<boolean> {
  try {
    await access(join(dir, MANIFEST_NAME));
    return true;
  } catch {
    io.err(`kura: ${dir} is not a Kura volume (no ${MANIFEST_NAME}); set cache.dir or --cache-dir\n`);
    return false;
  }
}

export async function cacheStats(config: KuraConfig, json: boolean, io: CacheIO): Promise<number> {
  if (!(await requireVolume(config.cache.dir, io))) return 1;
  const status = await readFleetStatus(config.cache.dir, config.cache.leader_stale);
  io.out(json ? `${JSON.stringify(status, null, 2)}\n` : describeStatus(status, config));
  return 0;
}

function describeStatus(s: FleetStatus, config: KuraConfig): string {
  const now = Date.now();
  const ago = (t: number | null) => (t === null ? 'never' : `${describeDuration(Math.max(0, now - t))} ago`);
  const size = (n: number | null) => (n === null ? 'unknown (no leader round yet)' : describeSize(n));
  const lines = [
    `volume     ${config.cache.dir}`,
    `size       ${size(s.sizeBytes)} of ${describeSize(s.maxBytes ?? config.cache.max_size)}${
      s.capacityBytes !== null && s.maxBytes !== null && s.capacityBytes < s.maxBytes
        ? ` (the file system holds ${describeSize(s.capacityBytes)})`
        : ''
    }`,
    `objects    ${s.objects ?? 'unknown'}   versions ${s.versions ?? 'unknown'}   written through ${size(s.writtenBytes)}`,
    `leader     ${s.leader ? `${s.leader.instance} (token ${s.leader.token}, since ${ago(s.leader.since)}${s.leader.lockHeld ? '' : ', lock stale'})` : 'none yet'}`,
    `eviction   ${s.lastEviction ? `${s.lastEviction.objects} objects, ${s.lastEviction.files} files, ${describeSize(s.lastEviction.bytes)} in ${describeDuration(s.lastEviction.ms)}, ${ago(s.lastEviction.at)}` : 'never'}; ${s.evictedObjects} objects evicted in all`,
    `journal    consolidation lag ${s.consolidationLagMs === null ? 'unknown' : describeDuration(s.consolidationLagMs)}; summary ${ago(s.summaryAt)}; last scan ${ago(s.lastScanAt)}`,
    `instances  ${s.instances.length}`,
    ...s.instances.map(
      (i) =>
        `  ${i.instance}  ${i.stopped ? 'stopped' : 'last seen'} ${ago(i.lastSeen)}${i.pid ? `  pid ${i.pid}` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export async function cacheVerify(
  config: KuraConfig,
  opts: { json: boolean; repair: boolean },
  io: CacheIO,
): Promise<number> {
  if (!(await requireVolume(config.cache.dir, io))) return 1;
  // Damaged records are removed under their locks, as an instance would: the store needs the volume.
  const repair = opts.repair
    ? {
        records: new RecordStore(
          await openVolume({
            dir: config.cache.dir,
            chunkSize: config.cache.chunk_size,
            instanceId: `verify-${hostname()}-${process.pid}`,
          }),
        ),
      }
    : null;
  const report = await verifyVolume(config.cache.dir, { repair });
  io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : describeVerify(report));
  return report.healthy ? 0 : 1;
}

function describeVerify(r: VerifyReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const lines = [
    `${r.healthy ? 'healthy' : 'NOT HEALTHY'}`,
    `chunks     ${r.chunks} checked, ${r.corruptChunks.length} corrupt`,
    `records    ${r.records} checked, ${r.badRecords.length} damaged, ${r.previousFormatRecords} of the previous format (misses, replaced by the next fill)`,
    `types      ${r.wrongTypes.length} entries of the wrong type`,
    `orphans    ${r.orphanVersions} versions no record names (swept by the leader)`,
    `temp       ${r.tempFiles} files`,
    `accounting ${describeSize(r.accountedBytes)} accounted, ${describeSize(r.presentBytes)} present (off by ${pct(r.accountingError)}, tolerance ${pct(r.tolerance)})`,
    ...r.corruptChunks.map((p) => `  corrupt: ${p}`),
    ...r.badRecords.map((p) => `  damaged record: ${p}`),
    ...r.wrongTypes.map((p) => `  wrong type: ${p}`),
    ...r.repaired.map((p) => `  removed: ${p}`),
  ];
  return `${lines.join('\n')}\n`;
}

export async function cachePurge(config: KuraConfig, target: string, io: CacheIO): Promise<number> {
  const slash = target.indexOf('/');
  const bucket = slash < 0 ? target : target.slice(0, slash);
  const prefix = slash < 0 ? '' : target.slice(slash + 1);
  if (!isStorableBucket(bucket)) {
    io.err(
      `kura: ${JSON.stringify(bucket)} is not a bucket name; usage: kura cache purge <bucket>[/<prefix>]\n`,
    );
    return 2;
  }
  if (!(await requireVolume(config.cache.dir, io))) return 1;
  const volume = await openVolume({
    dir: config.cache.dir,
    chunkSize: config.cache.chunk_size,
    instanceId: `purge-${hostname()}-${process.pid}`,
  });
  const journal = new Journal(volume, { flushMs: 60_000, segmentBytes: 2 ** 30, segmentAgeMs: 60_000 });
  await journal.start();
  volume.events = journal;
  try {
    const report = await purgeVolume(
      volume.dir,
      { records: new RecordStore(volume), chunks: new ChunkStore(volume) },
      bucket,
      prefix,
    );
    // Running instances answer from a record they read within cache.record_recheck without looking at
    // its file again: the purge is done once that time has passed (src/store/records.ts).
    if (report.objects > 0 && config.cache.record_recheck > 0) await sleep(config.cache.record_recheck);
    io.out(
      `purged ${report.objects} object${report.objects === 1 ? '' : 's'} under ${bucket}/${prefix}` +
        `${report.orphanDirs > 0 ? ` (and the bucket's data directories)` : ''}\n`,
    );
    return 0;
  } finally {
    await journal.close();
  }
}
