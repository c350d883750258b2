// The space gate of one instance: whether a new chunk may be written now. The leader evicts after the
// fact, from journals it may read seconds late; the gate keeps the volume within its bound meanwhile.
//
// What the leader last published (`summary.json`) is the total it has consolidated, and, per instance,
// the time of the newest event of that instance it includes. Everything else on the volume is pending:
// writes the leader has not read yet, and writes in flight. Each instance knows its own pending bytes
// exactly (its reservations, and its chunk and record writes newer than what the leader included), and
// takes at most an equal share of the room left: with `n` live instances each keeping
// `n × pending ≤ room`, their pending bytes together fit the room whatever the leader's lag.
//
// That holds when every instance measures the room from the same total. They read the summary at
// different moments, so a write stays pending until every live instance has read a summary that
// includes it (each says in its heartbeat which one it read): until then an instance still judging by
// an older total counts on it as pending, not as part of a total it has not seen.
//
// The same holds for the file system's free space (disk-space.ts): measured at each refresh, it is shared
// the same way between the writes made since, minus the reserve Kura leaves free.

import type { DiskSpace } from './disk-space.js';
import type { SpaceGate } from './events.js';
import type { VolumeSummary } from './state-files.js';

/**
 * Room kept beside each chunk for its header and for the records written before the next chunk is
 * admitted (records are not gated: they are small, and a fill writes its record before its chunks).
 */
export const WRITE_SLACK_BYTES = 64 * 1024;

interface Written {
  at: number;
  bytes: number;
}

export class VolumeSpaceGate implements SpaceGate {
  readonly #instance: string;
  readonly #maxBytes: number;
  #published: VolumeSummary | null = null;
  /** Summaries read, newest last: `savedAt`, and this instance's newest event each includes. */
  #included: { savedAt: number; upTo: number }[] = [];
  #instances = 1;
  #disk: (DiskSpace & { at: number }) | null = null;
  /** Bytes reserved by writes that have not ended. */
  #inFlight = 0;
  /** This instance's chunk and record writes that the published total may not include, oldest first. */
  #written: Written[] = [];
  /** Chunks refused because the volume was full (`max_size`, or the file system). */
  refused = 0;
  /** Of those, the ones refused because the file system would be left with less than its reserve. */
  refusedDisk = 0;

  constructor(instance: string, maxBytes: number) {
    this.#instance = instance;
    this.#maxBytes = maxBytes;
  }

  /**
   * The leader's latest summary, how many instances are alive, the file system's free space now, and
   * the oldest summary (`savedAt`) that a live instance may still be judging by.
   */
  update(
    summary: VolumeSummary | null,
    liveInstances: number,
    disk: DiskSpace | null,
    everyoneSeen = Number.POSITIVE_INFINITY,
  ): void {
    this.#published = summary;
    this.#instances = Math.max(1, liveInstances);
    this.#disk = disk === null ? null : { ...disk, at: Date.now() };
    const upTo = summary?.consolidated?.[this.#instance];
    const last = this.#included[this.#included.length - 1];
    if (summary !== null && upTo !== undefined && (last === undefined || summary.savedAt > last.savedAt)) {
      this.#included.push({ savedAt: summary.savedAt, upTo });
    }
    // The newest summary every live instance has read says what is no longer pending.
    let included = Number.NEGATIVE_INFINITY;
    while (this.#included.length > 0 && (this.#included[0] as { savedAt: number }).savedAt <= everyoneSeen) {
      included = (this.#included.shift() as { upTo: number }).upTo;
    }
    if (included === Number.NEGATIVE_INFINITY) return;
    // Kept for the next update: the same summary is still what everyone has read.
    this.#included.unshift({ savedAt: Number.NEGATIVE_INFINITY, upTo: included });
    // Strictly older only: an event of the same millisecond may sit in a segment not yet read.
    while (this.#written.length > 0 && (this.#written[0] as Written).at < included) this.#written.shift();
  }

  /** `savedAt` of the newest summary this gate has read (told to the fleet in the heartbeat). */
  get summarySeen(): number {
    return this.#published?.savedAt ?? 0;
  }

  /** A chunk or record of this instance now holds `bytes` on the volume. */
  wrote(bytes: number): void {
    this.#written.push({ at: Date.now(), bytes });
  }

  /** The bytes the leader's published total does not include yet, as far as this instance knows. */
  pendingBytes(): number {
    return this.#inFlight + this.#written.reduce((n, w) => n + w.bytes, 0);
  }

  /** The volume's total as this instance estimates it: published, plus every instance's share pending. */
  estimate(): number {
    return (this.#published?.totalBytes ?? 0) + this.pendingBytes() * this.#instances;
  }

  /** Reserves `bytes` when there is room; `settle` gives the reservation back once the write ended. */
  mayWrite(bytes: number): boolean {
    const n = this.#instances;
    const need = (bytes + WRITE_SLACK_BYTES) * n;
    if (this.estimate() + need > this.#maxBytes) {
      this.refused += 1;
      return false;
    }
    const disk = this.#disk;
    if (disk !== null) {
      let since = this.#inFlight;
      for (const w of this.#written) if (w.at >= disk.at) since += w.bytes;
      if (since * n + need > disk.availableBytes - disk.reserveBytes) {
        this.refused += 1;
        this.refusedDisk += 1;
        return false;
      }
    }
    this.#inFlight += bytes;
    return true;
  }

  settle(bytes: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
  }
}
