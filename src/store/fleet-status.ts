// What an operator (or a dashboard) may know about a volume without asking any instance: read-only, from
// the files the leader and the instances publish. `kura cache stats` prints it.

import { stat } from 'node:fs/promises';
import { readHeartbeats } from './journal.js';
import { leaderLockTarget, readLeaderRecord } from './leader.js';
import { type EvictionReport, readSummary } from './state-files.js';

export interface FleetStatus {
  /** Bytes of chunks and records, as the leader last accounted them; null before any leader round. */
  sizeBytes: number | null;
  maxBytes: number | null;
  /** What the cache may hold now: `maxBytes`, or less when the file system holds less. */
  capacityBytes: number | null;
  objects: number | null;
  versions: number | null;
  /** Bytes of objects cached by writes through Kura. */
  writtenBytes: number | null;
  instances: { instance: string; host: string; pid: number; lastSeen: number; stopped: boolean }[];
  leader: { instance: string; token: number; since: number; lockHeld: boolean } | null;
  lastEviction: EvictionReport | null;
  evictedObjects: number;
  consolidationLagMs: number | null;
  /** When the leader last published all this. */
  summaryAt: number | null;
  lastScanAt: number | null;
}

/** Reads the volume's fleet status; `staleMs` is the leader lock's stale time (is the lock still held?). */
export async function readFleetStatus(volumeDir: string, staleMs = 30_000): Promise<FleetStatus> {
  const [summary, leader, beats, lock] = await Promise.all([
    readSummary(volumeDir),
    readLeaderRecord(volumeDir),
    readHeartbeats(volumeDir),
    stat(`${leaderLockTarget(volumeDir)}.lock`).catch(() => null),
  ]);
  return {
    sizeBytes: summary?.totalBytes ?? null,
    maxBytes: summary?.maxBytes ?? null,
    capacityBytes: summary?.capacityBytes ?? summary?.maxBytes ?? null,
    objects: summary?.objects ?? null,
    versions: summary?.versions ?? null,
    writtenBytes: summary?.writtenBytes ?? null,
    instances: beats
      .map((b) => ({
        instance: b.instance,
        host: b.host,
        pid: b.pid,
        lastSeen: b.lastSeen,
        stopped: b.stopped,
      }))
      .sort((a, b) => b.lastSeen - a.lastSeen),
    leader: leader && {
      ...leader,
      lockHeld: lock !== null && Date.now() - lock.mtimeMs < staleMs,
    },
    lastEviction: summary?.lastEviction ?? null,
    evictedObjects: summary?.evictedObjects ?? 0,
    consolidationLagMs: summary?.consolidationLagMs ?? null,
    summaryAt: summary?.savedAt ?? null,
    lastScanAt: summary?.lastScanAt ?? null,
  };
}
