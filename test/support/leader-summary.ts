// A leader's published summary (`state/summary.json`) with the fields the space gate reads.

import type { VolumeSummary } from '../../src/store/state-files.js';

export function leaderSummary(totalBytes: number, consolidated: Record<string, number> = {}): VolumeSummary {
  return {
    savedAt: Date.now(),
    leader: 'l',
    token: 1,
    maxBytes: 8 * 2 ** 20,
    totalBytes,
    writtenBytes: 0,
    objects: 0,
    versions: 0,
    lastEviction: null,
    evictedObjects: 0,
    consolidationLagMs: 0,
    lastScanAt: null,
    consolidated,
  };
}
