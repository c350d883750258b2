// `kura cache verify`: reads every file of the volume (read-only) and says whether it is healthy: every
// chunk passes its checksum, every record parses, and the leader's accounting (saved state plus the
// journal segments not yet consolidated) is within a tolerance of the bytes actually present.

import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Accounting } from './accounting.js';
import { decodeChunk } from './chunk-file.js';
import { listSegments, parseSegment } from './journal.js';
import { parseObjectRecord } from './records.js';
import { scannedBytes, scanVolume } from './scan.js';
import { loadAccounting } from './state-files.js';
import { etagName, versionTagOf } from './volume.js';

export interface VerifyReport {
  objects: number;
  chunks: number;
  corruptChunks: string[];
  records: number;
  badRecords: string[];
  /** Versions no record names: garbage the leader sweeps, not damage. */
  orphanVersions: number;
  tempFiles: number;
  presentBytes: number;
  accountedBytes: number;
  /** |accounted − present| / present (0 when both are 0). */
  accountingError: number;
  tolerance: number;
  healthy: boolean;
}

export async function verifyVolume(volumeDir: string, tolerance = 0.02): Promise<VerifyReport> {
  const found = await scanVolume(volumeDir);
  const report: VerifyReport = {
    objects: found.size,
    chunks: 0,
    corruptChunks: [],
    records: 0,
    badRecords: [],
    orphanVersions: 0,
    tempFiles: 0,
    presentBytes: 0,
    accountedBytes: 0,
    accountingError: 0,
    tolerance,
    healthy: false,
  };
  for (const [id, o] of found) {
    report.presentBytes += scannedBytes(o);
    let current: string | null = null;
    if (o.recordPath) {
      report.records += 1;
      const text = await readFile(o.recordPath, 'utf8').catch(() => '');
      const record = recordOf(text);
      if (record === null) report.badRecords.push(o.recordPath);
      else current = etagName(record.etag);
    }
    for (const [version, chunks] of o.versions) {
      if (version !== current) report.orphanVersions += 1;
      for (const name of chunks.keys()) {
        report.chunks += 1;
        const path = join(volumeDir, 'data', id, version, name);
        const tag = versionTagOf(basename(id), version);
        if (!(await chunkIsSound(path, name, tag))) report.corruptChunks.push(path);
      }
    }
  }
  for (const instance of await readdir(join(volumeDir, 'tmp')).catch(() => [] as string[])) {
    report.tempFiles += (await readdir(join(volumeDir, 'tmp', instance)).catch(() => [])).length;
  }
  report.accountedBytes = await accountedBytes(volumeDir);
  const diff = Math.abs(report.accountedBytes - report.presentBytes);
  report.accountingError = report.presentBytes === 0 ? (diff === 0 ? 0 : 1) : diff / report.presentBytes;
  report.healthy =
    report.corruptChunks.length === 0 &&
    report.badRecords.length === 0 &&
    report.accountingError <= tolerance;
  return report;
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

/** Sound: it decodes, passes its checksums, and names this cell of the version its path names. */
async function chunkIsSound(path: string, name: string, tag: Buffer): Promise<boolean> {
  const m = /^(\d+)(\.p)?$/.exec(name);
  if (!m) return false;
  try {
    await decodeChunk(await readFile(path), { index: Number(m[1]), tag }, m[2] === undefined);
    return true;
  } catch {
    return false;
  }
}

function recordOf(text: string) {
  try {
    const r = JSON.parse(text) as { namespace: string; bucket: string; key: string };
    return parseObjectRecord(text, r);
  } catch {
    return null;
  }
}
