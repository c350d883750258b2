// What the file system under the volume can still hold. `cache.max_size` is what the operator allows;
// the disk may hold less (a small disk, a volume shared with other data), and a cache that plans by
// max_size alone would fill the disk and stay full. Network file systems that report no meaningful
// size (EFS says 8 EiB) simply never become the limit.

import { statfs } from 'node:fs/promises';

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use. */
  availableBytes: number;
  /** Size of the whole file system. */
  sizeBytes: number;
  /** Bytes Kura leaves free (`cache.min_free` of the file system, at least MIN_RESERVE_BYTES). */
  reserveBytes: number;
}

/**
 * The least Kura leaves free, whatever `cache.min_free` says: room for what the space gate does not count
 * (journal segments, records, temp and lease files) and for removed trees whose deletion is still under
 * way, which a small file system would otherwise run out of.
 */
export const MIN_RESERVE_BYTES = 4 * 1024 * 1024;

/** The file system's free space now, or null when it cannot be asked (the volume still works). */
export async function diskSpace(dir: string, minFreePercent: number): Promise<DiskSpace | null> {
  try {
    const st = await statfs(dir);
    const sizeBytes = st.blocks * st.bsize;
    return {
      availableBytes: st.bavail * st.bsize,
      sizeBytes,
      reserveBytes: Math.max(MIN_RESERVE_BYTES, Math.ceil((sizeBytes * minFreePercent) / 100)),
    };
  } catch {
    return null;
  }
}

/**
 * The most the cache can hold: `max_size`, or less when the file system cannot take that much beside
 * what the cache already holds (`cachedBytes`) and the reserve it must leave free.
 */
export function effectiveCapacity(maxBytes: number, cachedBytes: number, disk: DiskSpace | null): number {
  if (disk === null) return maxBytes;
  return Math.max(0, Math.min(maxBytes, cachedBytes + disk.availableBytes - disk.reserveBytes));
}
