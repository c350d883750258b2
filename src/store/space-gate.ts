// The space gate of one instance: whether a new chunk may be written now. The leader evicts after the
// fact, from journals it may read seconds late; the gate keeps the volume within its bound meanwhile.
//
// What the leader last published (`summary.json`) is the total it has consolidated, and, per instance,
// the time of the newest event of that instance it includes. Everything else on the volume is pending:
// writes the leader has not read yet, and writes in flight. Each instance knows its own pending bytes
// exactly, and takes at most an equal share of the room left: with `n` live instances each keeping
// `n × pending ≤ room`, their pending bytes together fit the room whatever the leader's lag.
//
// That holds only when every instance judges by the same total and the same `n`. They read the volume at
// different moments, so each states in its heartbeat what it answers for (its commitment):
// - its basis: the newest summary its pending bytes fit a share of. An instance that wrote much while it
//   judged by an older total may not fit the share of a newer one; it keeps the older basis until the
//   leader has consolidated enough of its writes.
// - the instances it counts in `n`. A newcomer writes nothing until every other live instance counts it,
//   and an instance counts a newcomer only once its own pending bytes fit the smaller share.
// An instance that stopped or died keeps its basis and its place in `n` until the leader's total
// includes its last journaled event (`gateMembers` in fleet.ts): its last writes were admitted against
// its basis.
// An instance's writes stay pending in its own estimate until the basis of every other live instance
// includes them: until then, one of them may be judging by a total without them.
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

/** Another live instance on the volume, as its heartbeat describes it. */
export interface GateMember {
  instance: string;
  /** Its basis (`savedAt`); absent when it does not say (an older Kura). */
  basis?: number;
  /**
   * The instances it counts; absent when it does not say, has not read the fleet's heartbeats yet, or
   * writes no more (stopped, or known to be dead): nobody waits for it to count them.
   */
  counting?: readonly string[];
}

export class VolumeSpaceGate implements SpaceGate {
  readonly #instance: string;
  readonly #maxBytes: number;
  #published: VolumeSummary | null = null;
  /** The newest summary this instance's pending bytes fit a share of (told to the fleet). */
  #basis: VolumeSummary | null = null;
  /** The live instances this one counts (told to the fleet). */
  #counting: readonly string[];
  /** Whether every other live instance counts this one. */
  #counted = true;
  /** Summaries read, newest last: `savedAt`, and this instance's newest event each includes. */
  #included: { savedAt: number; upTo: number }[] = [];
  #instances = 1;
  #disk: DiskSpace | null = null;
  /** Bytes reserved by writes that have not ended. */
  #inFlight = 0;
  /** This instance's chunk and record writes that another instance's basis may not include, oldest first. */
  #written: Written[] = [];
  /** The sum of `#written`'s bytes, kept as it changes: every write's admission reads it. */
  #writtenBytes = 0;
  /** This instance's bytes written since the file system's free space was last taken (`#disk`). */
  #writtenSinceDisk = 0;
  /** Chunks refused: the volume was full (`max_size`, or the file system), or this instance not counted. */
  refused = 0;
  /** Of those, the ones refused because the file system would be left with less than its reserve. */
  refusedDisk = 0;
  /** Of those, the ones refused while another live instance did not count this one yet. */
  refusedJoining = 0;

  constructor(instance: string, maxBytes: number) {
    this.#instance = instance;
    this.#maxBytes = maxBytes;
    this.#counting = [instance];
  }

  /**
   * The leader's latest summary, the other live instances (what their heartbeats say), and the file
   * system's free space now.
   */
  update(summary: VolumeSummary | null, others: readonly GateMember[], disk: DiskSpace | null): void {
    this.#published = summary;
    this.#instances = others.length + 1;
    this.#disk = disk;
    this.#writtenSinceDisk = 0;
    let everyoneSeen = Number.POSITIVE_INFINITY;
    for (const o of others) if (o.basis !== undefined) everyoneSeen = Math.min(everyoneSeen, o.basis);
    this.#forgetIncluded(summary, everyoneSeen);
    const live = [this.#instance, ...others.map((o) => o.instance)];
    if ((summary?.totalBytes ?? 0) + this.#pendingBeyond(summary) * live.length <= this.#maxBytes) {
      if (summary !== null && summary.savedAt > (this.#basis?.savedAt ?? 0)) this.#basis = summary;
      this.#counting = live;
    } else {
      // One that died writes no more: it needs no share.
      this.#counting = this.#counting.filter((id) => live.includes(id));
    }
    this.#counted = others.every((o) => o.counting === undefined || o.counting.includes(this.#instance));
  }

  /** Drops the writes that the summary every other live instance bases on (`savedAt`) includes. */
  #forgetIncluded(summary: VolumeSummary | null, everyoneSeen: number): void {
    const upTo = summary?.consolidated?.[this.#instance];
    const last = this.#included[this.#included.length - 1];
    if (summary !== null && upTo !== undefined && (last === undefined || summary.savedAt > last.savedAt)) {
      this.#included.push({ savedAt: summary.savedAt, upTo });
    }
    let included = Number.NEGATIVE_INFINITY;
    while (this.#included.length > 0 && (this.#included[0] as { savedAt: number }).savedAt <= everyoneSeen) {
      included = (this.#included.shift() as { upTo: number }).upTo;
    }
    if (included === Number.NEGATIVE_INFINITY) return;
    // Kept for the next update: the same summary is still what everyone bases on.
    this.#included.unshift({ savedAt: Number.NEGATIVE_INFINITY, upTo: included });
    // Strictly older only: an event of the same millisecond may sit in a segment not yet read.
    while (this.#written.length > 0 && (this.#written[0] as Written).at < included) {
      this.#writtenBytes -= (this.#written.shift() as Written).bytes;
    }
  }

  /** This instance's bytes that `summary` does not include. */
  #pendingBeyond(summary: VolumeSummary | null): number {
    const upTo = summary?.consolidated?.[this.#instance] ?? Number.NEGATIVE_INFINITY;
    let bytes = this.#inFlight;
    for (const w of this.#written) if (w.at >= upTo) bytes += w.bytes;
    return bytes;
  }

  /** `savedAt` of this instance's basis (told to the fleet in the heartbeat). */
  get summarySeen(): number {
    return this.#basis?.savedAt ?? 0;
  }

  /** The live instances this one counts (told to the fleet in the heartbeat). */
  get counting(): readonly string[] {
    return this.#counting;
  }

  /** False while another live instance does not count this one yet: it may write nothing then. */
  get counted(): boolean {
    return this.#counted;
  }

  /** A chunk or record of this instance now holds `bytes` on the volume. */
  wrote(bytes: number): void {
    this.#written.push({ at: Date.now(), bytes });
    this.#writtenBytes += bytes;
    this.#writtenSinceDisk += bytes;
  }

  /** The bytes the total of another instance's basis may not include, as far as this instance knows. */
  pendingBytes(): number {
    return this.#inFlight + this.#writtenBytes;
  }

  /**
   * The volume's total as this instance estimates it: published, plus every instance's share pending.
   * The basis's total counts when it is larger (evictions since): others may judge by it.
   */
  estimate(): number {
    const total = Math.max(this.#published?.totalBytes ?? 0, this.#basis?.totalBytes ?? 0);
    return total + this.pendingBytes() * this.#instances;
  }

  /** Reserves `bytes` when there is room; `settle` gives the reservation back once the write ended. */
  mayWrite(bytes: number): boolean {
    if (!this.#counted) {
      this.refused += 1;
      this.refusedJoining += 1;
      return false;
    }
    const n = this.#instances;
    const need = (bytes + WRITE_SLACK_BYTES) * n;
    if (this.estimate() + need > this.#maxBytes) {
      this.refused += 1;
      return false;
    }
    const disk = this.#disk;
    if (disk !== null) {
      const since = this.#inFlight + this.#writtenSinceDisk;
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
