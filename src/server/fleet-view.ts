// The fleet as telemetry sees it (metrics, dashboard): what the shared volume's status files say, read
// every few seconds off the request path, and this instance's own leader state, known at once.

import type { Cache } from '../cache/cache.js';
import { readFleetStatus } from '../store/fleet-status.js';
import type { FleetInstance, FleetStatus, LastEviction } from '../telemetry/fleet.js';

/** How often the volume's status files are read again. */
const REFRESH_MS = 5_000;

export interface FleetView extends FleetStatus {
  close(): void;
}

export function watchFleet(cache: Cache, leaderStaleMs: number): FleetView {
  let instances: FleetInstance[] | null = null;
  let volumeBytes: number | null = null;
  let lastEviction: LastEviction | null = null;
  let reading = false;
  const refresh = () => {
    if (reading) return;
    reading = true;
    readFleetStatus(cache.volume.dir, leaderStaleMs)
      .then((s) => {
        const self = cache.volume.instanceId;
        const live = s.instances.filter((i) => !i.stopped && Date.now() - i.lastSeen < leaderStaleMs);
        instances = live.map((i) => ({
          id: i.instance,
          lastSeen: new Date(i.lastSeen).toISOString(),
          leader:
            i.instance === self
              ? cache.fleet.isLeader
              : s.leader?.lockHeld === true && s.leader.instance === i.instance,
        }));
        // Its own heartbeat may not be written yet: this instance is there all the same.
        if (!instances.some((i) => i.id === self)) {
          instances.unshift({ id: self, lastSeen: new Date().toISOString(), leader: cache.fleet.isLeader });
        }
        volumeBytes = s.sizeBytes;
        const e = s.lastEviction;
        lastEviction = e && { at: new Date(e.at).toISOString(), objects: e.objects, bytes: e.bytes };
      })
      // Status files being rewritten or swept: the last view stands until the next read, 5 s on.
      .catch(() => {})
      .finally(() => {
        reading = false;
      });
  };
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  timer.unref();
  return {
    isLeader: () => cache.fleet.isLeader,
    instances: () => instances,
    volumeBytes: () => volumeBytes,
    lastEviction: () => lastEviction,
    close: () => clearInterval(timer),
  };
}
