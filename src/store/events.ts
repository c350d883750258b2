// What the stores tell the journal: every file that appears, disappears or is read. One narrow
// interface at the store layer, so every writer of the volume is accounted without knowing about it.

import type { ObjectKey, ObjectRecord, ObjectVersion } from './types.js';

export interface VolumeEvents {
  /** A chunk file (`{index}` or `{index}.p`) of `v` now holds `bytes` bytes on the volume. */
  chunkWritten(v: ObjectVersion, name: string, bytes: number): void;
  /**
   * Removals carry `at`: when the removal began, taken before the file left its path. A chunk renamed
   * into the path afterwards is journaled later than that and stays counted; a time taken once the
   * removal's callback runs (after any event-loop delay) would make the leader drop such a chunk while
   * its file is on the volume, and the space gate would then not see it (accounting.ts).
   */
  chunkRemoved(v: ObjectVersion, name: string, at: number): void;
  versionRemoved(v: ObjectVersion, at: number): void;
  /** Every version of `k` was removed (not its record). */
  objectDataRemoved(k: ObjectKey, at: number): void;
  recordWritten(k: ObjectKey, bytes: number, source: ObjectRecord['source']): void;
  recordRemoved(k: ObjectKey): void;
  /** A request read `k`'s record: the unit of recency and frequency for eviction. */
  objectRead(k: ObjectKey): void;
}

export const NO_VOLUME_EVENTS: VolumeEvents = {
  chunkWritten() {},
  chunkRemoved() {},
  versionRemoved() {},
  objectDataRemoved() {},
  recordWritten() {},
  recordRemoved() {},
  objectRead() {},
};

/**
 * Whether a new chunk may be written now. The leader enforces capacity after the fact; this gate stops
 * writers before the volume passes its size between two rounds of eviction (the bytes still reach the
 * client, they are just not kept).
 */
export interface SpaceGate {
  /** Reserves room for a chunk of up to `bytes`; false when the volume is full. */
  mayWrite(bytes: number): boolean;
  /** The write `mayWrite` admitted has ended, written or not (its file, if any, was journaled). */
  settle(bytes: number): void;
}

export const ALWAYS_ROOM: SpaceGate = { mayWrite: () => true, settle: () => {} };
