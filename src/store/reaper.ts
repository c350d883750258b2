// What the leader does, every round, for instances that died (liveness.ts): their temp files and fetch
// leases go at once instead of at the next full pass of the scan (up to `cache.scan_interval`), and an
// instance that did not stop cleanly is reported, because the chunks and records it wrote in its last
// journal flush interval were never journaled: the leader then rescans the volume promptly
// (maintenance.ts) so its accounting is right again within a minute, not an hour.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Heartbeat } from './journal.js';
import { removeLeasesOf } from './leases.js';
import { heartbeatDead, type LivenessOptions } from './liveness.js';

export interface ReapReport {
  /** Instances whose leftovers were removed in this round. */
  instances: string[];
  /** Of those, the ones that did not stop cleanly: their last writes may be missing from the journal. */
  crashed: string[];
  tempFiles: number;
  leases: number;
}

/**
 * Removes the temp directory and lease files of every dead instance that still has a temp directory
 * (an instance is reaped once: its temp directory is what says it was not yet). `mayDelete` is the
 * fencing check.
 */
export async function reapDeadInstances(
  volumeDir: string,
  self: string,
  beats: Map<string, Heartbeat>,
  liveness: LivenessOptions,
  mayDelete: () => Promise<boolean>,
  now: number,
): Promise<ReapReport> {
  const report: ReapReport = { instances: [], crashed: [], tempFiles: 0, leases: 0 };
  const root = join(volumeDir, 'tmp');
  for (const instance of await readdir(root).catch(() => [] as string[])) {
    if (instance === self) continue;
    const beat = beats.get(instance);
    // Without a heartbeat the temp directory's age decides: an instance may be starting right now.
    if (beat === undefined) {
      const st = await stat(join(root, instance)).catch(() => null);
      if (st === null || now - st.mtimeMs < liveness.silentAfterMs) continue;
    } else if (!heartbeatDead(beat, liveness, now)) {
      continue;
    }
    if (!(await mayDelete())) return report;
    const dir = join(root, instance);
    report.tempFiles += (await readdir(dir).catch(() => [] as string[])).length;
    // Best effort: what stays is tried again next round, and the temp-file sweep removes it by age.
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    report.leases += await removeLeasesOf(volumeDir, instance);
    report.instances.push(instance);
    if (beat === undefined || !beat.stopped) report.crashed.push(instance);
  }
  return report;
}
