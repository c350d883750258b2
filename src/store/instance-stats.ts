// Each instance's numbers, for every dashboard of the fleet: an instance that serves an admin port (one
// process, or a worker group's primary for all its workers) writes `stats/{id}.json` on the volume at
// every dashboard sample, and each dashboard reads the others' files. Nothing else is shared: a file not
// refreshed for three of its writer's intervals (15 s at least) belongs to an instance that stopped or
// hangs and is left out; one not refreshed for 10 minutes is removed by whichever instance reads it.

import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const STATS_DIR = 'stats';
/** A file older than this many of its writer's intervals is not counted. */
const STALE_INTERVALS = 3;
const STALE_MIN_MS = 15_000;
/** A file older than this is removed. */
export const STATS_FORGET_MS = 10 * 60_000;
/** Two writes of one process (a timer's and a page's) never share a temp file. */
let sequence = 0;

export interface InstanceStatsFile {
  /** The writer's id: its volume instance id, or a worker group's own id. */
  id: string;
  /** When it was written, ms since the epoch. */
  at: number;
  /** How often its writer refreshes it. */
  everyMs: number;
  /** What the writer reports; its shape is the dashboard's (src/telemetry/fleet-stats.ts). */
  stats: unknown;
}

export function statsPathOf(volumeDir: string, id: string): string {
  return join(volumeDir, STATS_DIR, `${id}.json`);
}

export async function writeInstanceStats(volumeDir: string, file: InstanceStatsFile): Promise<void> {
  const path = statsPathOf(volumeDir, file.id);
  await mkdir(join(volumeDir, STATS_DIR), { recursive: true, mode: 0o700 });
  sequence += 1;
  const tmp = `${path}.${process.pid}.${sequence}.tmp`;
  await writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
  await rename(tmp, path);
}

/** Called on a clean stop, so that the others stop counting this instance at once. */
export async function removeInstanceStats(volumeDir: string, id: string): Promise<void> {
  await rm(statsPathOf(volumeDir, id), { force: true });
}

export function statsFresh(file: InstanceStatsFile, now: number): boolean {
  return now - file.at <= Math.max(STALE_INTERVALS * file.everyMs, STALE_MIN_MS);
}

/** The fresh files of the volume; old files and leftover temp files are removed on the way. */
export async function readInstanceStats(volumeDir: string, now = Date.now()): Promise<InstanceStatsFile[]> {
  const dir = join(volumeDir, STATS_DIR);
  const out: InstanceStatsFile[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (!name.endsWith('.json')) {
      const st = await stat(path).catch(() => null);
      if (st && now - st.mtimeMs > STATS_FORGET_MS) await rm(path, { force: true });
      continue;
    }
    const file = parse(await readFile(path, 'utf8').catch(() => ''));
    if (file === null) {
      // Renamed into place whole, so unreadable means damaged: its age decides, as for any other.
      const st = await stat(path).catch(() => null);
      if (st && now - st.mtimeMs > STATS_FORGET_MS) await rm(path, { force: true });
    } else if (now - file.at > STATS_FORGET_MS) {
      await rm(path, { force: true });
    } else if (statsFresh(file, now)) {
      out.push(file);
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

function parse(text: string): InstanceStatsFile | null {
  try {
    const v = JSON.parse(text) as Partial<InstanceStatsFile>;
    if (typeof v.id !== 'string' || typeof v.at !== 'number' || typeof v.everyMs !== 'number') return null;
    if (typeof v.stats !== 'object' || v.stats === null) return null;
    return v as InstanceStatsFile;
  } catch {
    return null;
  }
}
