// What an instance watches of its volume off the request path: the fleet's status files (fleet-view.ts)
// and, while no leader's accounting of the volume is known, the size of data/ as its own walk found it.

import type { Cache } from '../cache/cache.js';
import { scanDataBytes } from '../store/volume-health.js';
import type { FleetStatus } from '../telemetry/fleet.js';
import { watchFleet } from './fleet-view.js';

/** How often an instance without the leader's accounting walks data/ to report the cache size. */
const SCAN_INTERVAL_MS = 5 * 60_000;

export interface VolumeWatch {
  /** What this instance shows of the others on its volume. */
  fleet: FleetStatus;
  /** Bytes of cached data as this instance last walked them; null before the first walk. */
  scanned(): number | null;
  /** Stops the timers; nothing else to release. */
  close(): void;
}

/** `given` replaces what the volume's status files say (tests show a fleet of their own). */
export function watchVolume(cache: Cache, leaderStaleMs: number, given?: FleetStatus): VolumeWatch {
  let fleet: FleetStatus;
  let stopFleet = () => {};
  if (given) {
    fleet = given;
  } else {
    const view = watchFleet(cache, leaderStaleMs);
    fleet = view;
    stopFleet = view.close;
  }

  // Between two walks of data/, the size is the last walk plus what this instance stored since it began.
  let walked: { bytes: number; storedBefore: number } | null = null;
  const scanned = () =>
    walked === null ? null : walked.bytes + cache.stats.bytesStoredOnDisk - walked.storedBefore;
  let scanning = false;
  const scan = () => {
    if (scanning || fleet.volumeBytes() !== null) return;
    scanning = true;
    const storedBefore = cache.stats.bytesStoredOnDisk;
    scanDataBytes(cache.volume)
      .then((r) => {
        walked = { bytes: r.bytes, storedBefore };
      })
      // A walk that fails leaves the last size standing; the next one, five minutes on, tries again.
      .catch(() => {})
      .finally(() => {
        scanning = false;
      });
  };
  scan();
  const scanTimer = setInterval(scan, SCAN_INTERVAL_MS);
  scanTimer.unref();

  return {
    fleet,
    scanned,
    close() {
      clearInterval(scanTimer);
      stopFleet();
    },
  };
}
