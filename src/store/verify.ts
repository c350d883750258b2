// `kura cache verify`: reads every file of the volume and says whether it is healthy: every record passes
// its checksum and names the key it is stored under, every chunk passes its checksums and has the length
// its record gives its cell, no entry has the wrong type (a directory where a file belongs, or the other
// way round), and the leader's accounting (saved state plus the journal segments not yet consolidated) is
// within a tolerance of the bytes actually present. With `repair`, what is damaged is removed, as a read
// would remove it: the next read of the object is a miss that fills it again.

import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Accounting } from './accounting.js';
import { decodeChunk } from './chunk-file.js';
import { listSegments, parseSegment } from './journal.js';
import { decodeRecordFile } from './record-file.js';
import type { RecordStore } from './records.js';
import { scannedBytes, scanVolume } from './scan.js';
import { loadAccounting } from './state-files.js';
import type { ObjectRecord } from './types.js';
import { etagName, keyHash, MANIFEST_NAME, readManifest, versionTagOf } from './volume.js';

export interface VerifyReport {
  objects: number;
  chunks: number;
  corruptChunks: string[];
  records: number;
  badRecords: string[];
  /** Records written before records carried a checksum: misses that the next fill replaces, not damage. */
  previousFormatRecords: number;
  /** Directories where a chunk or record file belongs, and files where a directory belongs. */
  wrongTypes: string[];
  /** Versions no record names: garbage the leader sweeps, not damage. */
  orphanVersions: number;
  tempFiles: number;
  presentBytes: number;
  accountedBytes: number;
  /** |accounted − present| / present (0 when both are 0). */
  accountingError: number;
  tolerance: number;
  /** With `repair`: every damaged path that was removed (or, for a record, found replaced meanwhile). */
  repaired: string[];
  healthy: boolean;
}

export interface VerifyOptions {
  tolerance?: number;
  /** Remove what is damaged; records go under their lock, through the volume's record store. */
  repair?: { records: RecordStore } | null;
}

export async function verifyVolume(volumeDir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { chunkSize } = await readManifest(join(volumeDir, MANIFEST_NAME));
  const wrongTypes: string[] = [];
  const found = await scanVolume(volumeDir, wrongTypes);
  const report: VerifyReport = {
    objects: found.size,
    chunks: 0,
    corruptChunks: [],
    records: 0,
    badRecords: [],
    previousFormatRecords: 0,
    wrongTypes,
    orphanVersions: 0,
    tempFiles: 0,
    presentBytes: 0,
    accountedBytes: 0,
    accountingError: 0,
    tolerance: opts.tolerance ?? 0.02,
    repaired: [],
    healthy: false,
  };
  const removedBytes = new Map<string, number>();
  for (const [id, o] of found) {
    report.presentBytes += scannedBytes(o);
    let record: ObjectRecord | null = null;
    if (o.recordPath) {
      report.records += 1;
      const checked = await checkRecord(o.recordPath, id);
      if (checked === 'previous-format') report.previousFormatRecords += 1;
      else if (checked === null) {
        report.badRecords.push(o.recordPath);
        removedBytes.set(o.recordPath, o.record);
      } else record = checked;
    }
    const current = record === null ? null : etagName(record.etag);
    for (const [version, chunks] of o.versions) {
      if (version !== current) report.orphanVersions += 1;
      for (const [name, bytes] of chunks) {
        report.chunks += 1;
        const path = join(volumeDir, 'data', id, version, name);
        const size = version === current ? (record as ObjectRecord).size : null;
        const tag = versionTagOf(basename(id), version);
        if (!(await chunkIsSound(path, name, tag, chunkSize, size))) {
          report.corruptChunks.push(path);
          removedBytes.set(path, bytes);
        }
      }
    }
  }
  for (const instance of await readdir(join(volumeDir, 'tmp')).catch(() => [] as string[])) {
    report.tempFiles += (await readdir(join(volumeDir, 'tmp', instance)).catch(() => [])).length;
  }
  if (opts.repair) await repair(volumeDir, report, opts.repair.records);
  const damage = report.badRecords.length + report.corruptChunks.length + report.wrongTypes.length;
  for (const path of report.repaired) report.presentBytes -= removedBytes.get(path) ?? 0;
  report.accountedBytes = await accountedBytes(volumeDir);
  const diff = Math.abs(report.accountedBytes - report.presentBytes);
  report.accountingError = report.presentBytes === 0 ? (diff === 0 ? 0 : 1) : diff / report.presentBytes;
  report.healthy = damage === report.repaired.length && report.accountingError <= report.tolerance;
  return report;
}

/** Removes every damaged path found; a record only if it is still damaged once its lock is held. */
async function repair(volumeDir: string, report: VerifyReport, records: RecordStore): Promise<void> {
  for (const path of report.badRecords) {
    const id = path.slice(join(volumeDir, 'objects').length + 1, -'.json'.length);
    // False: a fill replaced the file meanwhile, which repairs it as well.
    const done = await records.removeIfDamaged(id).then(
      () => true,
      () => false,
    );
    if (done) report.repaired.push(path);
  }
  for (const path of [...report.corruptChunks, ...report.wrongTypes]) {
    const removed = await rm(path, { recursive: true, force: true }).then(
      () => true,
      () => false,
    );
    if (removed) report.repaired.push(path);
  }
}

/** The sound record at `path` of object `id`; 'previous-format' or null (damaged) otherwise. */
async function checkRecord(path: string, id: string): Promise<ObjectRecord | 'previous-format' | null> {
  const file = await readFile(path).catch(() => null);
  return file === null ? null : recordVerdict(file, id);
}

/** What verify makes of a record file's bytes found under object id `id`. */
export function recordVerdict(file: Buffer, id: string): ObjectRecord | 'previous-format' | null {
  const decoded = decodeRecordFile(file);
  if (decoded.kind === 'previous-format') return 'previous-format';
  if (decoded.kind === 'damaged') return null;
  const r = decoded.record;
  try {
    const h = keyHash(r);
    return id === `${r.bucket}/${h.slice(0, 2)}/${h.slice(2, 4)}/${h}` ? r : null;
  } catch {
    return null; // a bucket name that could never have been stored
  }
}

/** The saved accounting with every journal segment still on the volume applied, as the leader would. */
async function accountedBytes(volumeDir: string): Promise<number> {
  const acc = (await loadAccounting(volumeDir)) ?? new Accounting();
  for (const seg of await listSegments(volumeDir)) {
    const text = await readFile(seg.path, 'utf8').catch(() => '');
    for (const { at, event } of parseSegment(text)) acc.apply(at, event);
  }
  return acc.totalBytes;
}

/**
 * Whether the chunk file decodes, passes its checksums, names the cell and the version its path names,
 * and, when `objectSize` is known (the chunk belongs to the version its record names), holds exactly its
 * cell (full) or only bytes within it (partial), as reads require.
 */
async function chunkIsSound(
  path: string,
  name: string,
  tag: Buffer,
  chunkSize: number,
  objectSize: number | null,
): Promise<boolean> {
  const m = /^(\d+)(\.p)?$/.exec(name);
  if (!m) return false;
  const index = Number(m[1]);
  const full = m[2] === undefined;
  try {
    const content = await decodeChunk(await readFile(path), { index, tag }, full);
    if (objectSize === null) return true;
    const cell = Math.min(chunkSize, objectSize - index * chunkSize);
    const last = content.pieces[content.pieces.length - 1];
    const end = last === undefined ? 0 : last.start + last.bytes.length;
    return cell > 0 && (full ? end === cell : end <= cell);
  } catch {
    return false;
  }
}
