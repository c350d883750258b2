// The leader's files under `state/`: the accounting (sizes and access summary) it rebuilds from, and a
// small summary that every instance reads for its space gate and that `kura cache stats` shows.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Accounting } from './accounting.js';
import type { DiskSpace } from './disk-space.js';

export interface EvictionReport {
  at: number;
  objects: number;
  files: number;
  bytes: number;
  ms: number;
}

export interface VolumeSummary {
  savedAt: number;
  leader: string;
  token: number;
  /** `cache.max_size` as the leader was configured. */
  maxBytes: number;
  /** What the cache may hold now: `maxBytes`, or less when the file system cannot take that much. */
  capacityBytes?: number;
  /** The volume's file system when the summary was written; null when it could not be asked. */
  disk?: DiskSpace | null;
  totalBytes: number;
  writtenBytes: number;
  objects: number;
  versions: number;
  lastEviction: EvictionReport | null;
  /** Objects evicted by every leader since the volume was created. */
  evictedObjects: number;
  /** Age of the oldest event consolidated in the last round: how far the leader's view lags. */
  consolidationLagMs: number;
  /**
   * Per instance, the time of the newest of its events the total includes (journal.ts). Each instance's
   * space gate counts its own later writes as pending (space-gate.ts).
   */
  consolidated?: Record<string, number>;
  lastScanAt: number | null;
}

export function stateDir(volumeDir: string): string {
  return join(volumeDir, 'state');
}

async function writeJson(path: string, value: unknown, tag: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${tag}.tmp`;
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, path);
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

export async function saveAccounting(volumeDir: string, acc: Accounting, tag: string): Promise<void> {
  await writeJson(join(stateDir(volumeDir), 'accounting.json'), acc.save(Date.now()), tag);
}

/** The saved accounting, or null when it is missing or damaged (the leader then scans the volume). */
export async function loadAccounting(volumeDir: string): Promise<Accounting | null> {
  return Accounting.load(await readJson(join(stateDir(volumeDir), 'accounting.json')));
}

export async function saveSummary(volumeDir: string, summary: VolumeSummary, tag: string): Promise<void> {
  await writeJson(join(stateDir(volumeDir), 'summary.json'), summary, tag);
}

export async function readSummary(volumeDir: string): Promise<VolumeSummary | null> {
  const s = (await readJson(join(stateDir(volumeDir), 'summary.json'))) as VolumeSummary | null;
  return s !== null && typeof s === 'object' && typeof s.totalBytes === 'number' ? s : null;
}
