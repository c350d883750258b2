// The leader's sweeps: files nothing will ever read again, and the rolling scan that corrects the size
// accounting against the files actually present, one shard per step so that no round of the leader
// (and no eviction) waits for a walk of the whole volume. Every removal happens only after the caller's
// fencing check (`mayDelete`) passes for that batch.

import { readdir, readFile, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Accounting } from './accounting.js';
import { type Heartbeat, readHeartbeats } from './journal.js';
import { sweepExpiredLeases } from './leases.js';
import { decodeRecordFile } from './record-file.js';
import { type ScannedObject, scanShard } from './scan.js';
import type { ObjectRecord } from './types.js';
import { etagName } from './volume.js';

/** Temp files older than this are abandoned whoever owns them: no write takes an hour. */
export const TEMP_MAX_AGE_MS = 60 * 60 * 1000;
/** A version no record names is left this long first: its fill may be about to write the record. */
export const ORPHAN_GRACE_MS = 60 * 1000;
/** Record tombstones are kept this long: longer than any S3 answer takes to become a record. */
const TOMBSTONE_KEEP_MS = 10 * 60 * 1000;
/** A stopped or dead instance's journal directory is kept this long, so `kura cache stats` shows it. */
const INSTANCE_MEMORY_MS = 60 * 60 * 1000;

export interface SweepOptions {
  volumeDir: string;
  self: string;
  /** An instance whose heartbeat is older than this is dead. */
  deadAfterMs: number;
  uploadTtlMs: number;
  /** Active expiration: entries expired for every rule are removed. Null in lazy mode. */
  isExpired: ((record: ObjectRecord, now: number) => boolean) | null;
  /** The fencing check: false stops the sweep before its next batch of deletes. */
  mayDelete: () => Promise<boolean>;
  /** Removes a directory tree writers may race with (remove-tree.ts); never rejects. */
  removeTree: (path: string) => Promise<void>;
  /** Removes an object's record (under its lock) and data; how eviction removes it too. */
  removeObject: (id: string) => Promise<void>;
}

export interface SweepReport {
  orphanVersions: number;
  expiredObjects: number;
  tempFiles: number;
  uploads: number;
  leases: number;
  emptyDirs: number;
  /** Record tombstones old enough that no fill they guard against can still be running. */
  tombstones: number;
  instances: number;
  scannedObjects: number;
  /** Accounted bytes minus bytes found, before the corrections. */
  correctedBytes: number;
}

export function emptySweepReport(): SweepReport {
  return {
    orphanVersions: 0,
    expiredObjects: 0,
    tempFiles: 0,
    uploads: 0,
    leases: 0,
    emptyDirs: 0,
    tombstones: 0,
    instances: 0,
    scannedObjects: 0,
    correctedBytes: 0,
  };
}

/**
 * One step of the rolling scan: the objects of one shard (`{bucket}/{h0:2}`) are compared with the
 * accounting, which takes the files' sizes; versions no record names and (in active mode) expired
 * objects go. Returns false when the fencing check stopped it.
 */
export async function sweepShard(
  acc: Accounting,
  opts: SweepOptions,
  shard: string,
  report: SweepReport,
  now: number,
): Promise<boolean> {
  const before = acc.totalBytes;
  const found = await scanShard(opts.volumeDir, shard);
  const prefix = `${shard}/`;
  const known = [...acc.objects.keys()].filter((id) => id.startsWith(prefix));
  correctAccounting(acc, found, now, known);
  report.scannedObjects += found.size;
  report.correctedBytes += before - acc.totalBytes;

  for (const [id, o] of found) {
    const record = o.recordPath ? await readRecordLoosely(o.recordPath) : null;
    if (record && opts.isExpired?.(record, now)) {
      if (!(await opts.mayDelete())) return false;
      // Timed before the removal, as eviction is: a refill written while it runs stays counted.
      const at = Date.now();
      await opts.removeObject(id);
      acc.evicted(id, at);
      report.expiredObjects += 1;
      continue;
    }
    const current = record ? etagName(record.etag) : null;
    for (const [version, mtime] of o.versionTimes) {
      if (version === current || now - mtime < ORPHAN_GRACE_MS) continue;
      if (!(await opts.mayDelete())) return false;
      await opts.removeTree(join(opts.volumeDir, 'data', id, version));
      acc.dropVersion(id, version, now);
      report.orphanVersions += 1;
    }
  }
  return true;
}

/** What the sweep does once per full pass: temp files, staging, leases, instances, tombstones, empty dirs. */
export async function sweepVolumeWide(opts: SweepOptions, report: SweepReport, now: number): Promise<void> {
  if (!(await opts.mayDelete())) return;
  const beats = await readHeartbeats(opts.volumeDir);
  report.tempFiles = await sweepTemp(opts, beats, now);
  report.uploads = await removeOlderThan(join(opts.volumeDir, 'uploads'), opts.uploadTtlMs, now);
  report.leases = await sweepExpiredLeases(opts.volumeDir, now);
  report.instances = await sweepInstances(opts, beats, now);
  report.tombstones = await removeOldTombstones(join(opts.volumeDir, 'objects'), now);
  report.emptyDirs =
    (await removeEmptyDirs(join(opts.volumeDir, 'data'), now)) +
    (await removeEmptyDirs(join(opts.volumeDir, 'objects'), now));
}

/**
 * Sets every object's sizes to what the scan found; objects of `known` (all accounted objects when not
 * given) that the scan did not find are forgotten.
 */
export function correctAccounting(
  acc: Accounting,
  found: Map<string, ScannedObject>,
  now: number,
  known: string[] = [...acc.objects.keys()],
): void {
  for (const id of known) {
    if (!found.has(id)) acc.correct(id, { record: 0, versions: new Map() }, now);
  }
  for (const [id, o] of found) acc.correct(id, { record: o.record, versions: o.versions }, now);
}

export function isDead(beat: Heartbeat | undefined, deadAfterMs: number, now: number): boolean {
  return beat === undefined || beat.stopped || now - beat.lastSeen > deadAfterMs;
}

async function sweepTemp(opts: SweepOptions, beats: Heartbeat[], now: number): Promise<number> {
  const root = join(opts.volumeDir, 'tmp');
  const byId = new Map(beats.map((b) => [b.instance, b]));
  let removed = 0;
  for (const instance of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, instance);
    const beat = byId.get(instance);
    if (instance !== opts.self && isDead(beat, opts.deadAfterMs, now)) {
      const st = await stat(dir).catch(() => null);
      // Without a heartbeat the directory's own age decides: an instance may be starting right now.
      if (beat === undefined && st !== null && now - st.mtimeMs < opts.deadAfterMs) continue;
      const names = await readdir(dir).catch(() => [] as string[]);
      await rm(dir, { recursive: true, force: true });
      removed += names.length;
      continue;
    }
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const st = await stat(join(dir, name)).catch(() => null);
      if (st && now - st.mtimeMs > TEMP_MAX_AGE_MS) {
        // Best effort: a temp file is never read; the next pass tries again.
        await unlink(join(dir, name)).catch(() => {});
        removed += 1;
      }
    }
  }
  return removed;
}

/** Journal directories of instances gone for a while and with nothing left to consolidate. */
async function sweepInstances(opts: SweepOptions, beats: Heartbeat[], now: number): Promise<number> {
  let removed = 0;
  for (const beat of beats) {
    if (beat.instance === opts.self || now - beat.lastSeen < INSTANCE_MEMORY_MS) continue;
    const dir = join(opts.volumeDir, 'journal', beat.instance);
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith('.log') || n.endsWith('.open'))) continue;
    await rm(dir, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

/** Entries of `root` (multipart staging directories) whose modification time is older than `maxAgeMs`. */
async function removeOlderThan(root: string, maxAgeMs: number, now: number): Promise<number> {
  let removed = 0;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const st = await stat(join(root, name)).catch(() => null);
    if (st && now - st.mtimeMs > maxAgeMs) {
      await rm(join(root, name), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

/** `.gone` files under `objects/` older than the longest fill could take. */
async function removeOldTombstones(root: string, now: number): Promise<number> {
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name.endsWith('.gone')) {
        const st = await stat(path).catch(() => null);
        if (st && now - st.mtimeMs > TOMBSTONE_KEEP_MS) {
          // Best effort: an old tombstone only keeps a late fill out a little longer; the next pass retries.
          await unlink(path).catch(() => {});
          removed += 1;
        }
      }
    }
  };
  await walk(root);
  return removed;
}

/**
 * Empty directories under `root`, deepest first, left alone for a minute after their last change. A
 * writer that loses its directory to this race recreates it (atomic-file.ts).
 */
async function removeEmptyDirs(root: string, now: number): Promise<number> {
  let removed = 0;
  const walk = async (dir: string, depth: number): Promise<boolean> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
    if (entries === null) return false;
    let left = entries.length;
    for (const e of entries) {
      if (e.isDirectory() && (await walk(join(dir, e.name), depth + 1))) left -= 1;
    }
    if (depth === 0 || left > 0) return false;
    const st = await stat(dir).catch(() => null);
    if (!st || now - st.mtimeMs < ORPHAN_GRACE_MS) return false;
    try {
      await rmdir(dir);
      removed += 1;
      return true;
    } catch {
      return false;
    }
  };
  await walk(root, 0);
  return removed;
}

/** The sound record in the file at `path`, whichever key it names; null when there is none. */
export async function readRecordLoosely(path: string): Promise<ObjectRecord | null> {
  try {
    const decoded = decodeRecordFile(await readFile(path));
    return decoded.kind === 'record' ? decoded.record : null;
  } catch {
    return null;
  }
}
