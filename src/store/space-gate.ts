// The space gate of one instance: the leader's last published total, plus what this instance wrote since
// that total may have been counted, times the number of live instances (each is assumed to write about as
// much as this one). Past `cache.max_size` new chunks are not written; the bytes still reach the client.

import type { SpaceGate } from './events.js';
import type { VolumeSummary } from './state-files.js';

export class VolumeSpaceGate implements SpaceGate {
  readonly #maxBytes: number;
  /** Writes younger than this may be missing from the published total (journal flush + leader round). */
  readonly #windowMs: number;
  #published: VolumeSummary | null = null;
  #instances = 1;
  #recent: { at: number; bytes: number }[] = [];
  /** Chunks refused because the volume was full. */
  refused = 0;

  constructor(maxBytes: number, windowMs: number) {
    this.#maxBytes = maxBytes;
    this.#windowMs = windowMs;
  }

  /** The leader's latest summary and how many instances are alive. */
  update(summary: VolumeSummary | null, liveInstances: number): void {
    this.#published = summary;
    this.#instances = Math.max(1, liveInstances);
  }

  estimate(): number {
    const now = Date.now();
    const since = Math.min(now, (this.#published?.savedAt ?? now) - this.#windowMs);
    while (this.#recent.length > 0 && (this.#recent[0] as { at: number }).at < since) this.#recent.shift();
    const mine = this.#recent.reduce((n, w) => n + w.bytes, 0);
    return (this.#published?.totalBytes ?? 0) + mine * this.#instances;
  }

  /** Reserves `bytes` when there is room: writes in flight at once must not all pass on the same total. */
  mayWrite(bytes: number): boolean {
    if (this.estimate() + bytes * this.#instances <= this.#maxBytes) {
      this.#recent.push({ at: Date.now(), bytes });
      return true;
    }
    this.refused += 1;
    return false;
  }
}
