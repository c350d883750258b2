// Fetch leases as the read path uses them (the files themselves are store/leases.ts): before asking S3
// for chunks an instance announces the cells it is bringing; an instance that needs cells another one is
// bringing waits for their files instead of fetching them again. Every wait is bounded, and a waiter
// that ends up without the bytes fetches them itself: leases save S3 egress, never correctness.

import type { FetchLease } from '../../store/leases.js';
import type { ObjectKey, ObjectRecord, ObjectVersion } from '../../store/types.js';
import type { Cache } from '../cache.js';

/** How often a waiter looks for the file another instance is writing. */
const POLL_MS = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The first fetch of an object nobody has a record of takes the fleet-wide lease, to release once this
 * instance's record is written; null when another instance holds it (awaitColdFillElsewhere then) or it
 * cannot be taken.
 */
export function takeColdFillLease(cache: Cache, key: ObjectKey): Promise<FetchLease | null> {
  return cache.fleet.leases.takeObjectFill(key).catch(() => null);
}

/**
 * Once the lease of `key`'s first fetch was not had: the record the instance holding it writes, waited
 * for within the cache's wait; null when there is none by then, or nobody holds the lease (a lease that
 * cannot be taken is one nobody holds: the caller fetches without it, one more S3 fetch at most).
 */
export async function awaitColdFillElsewhere(cache: Cache, key: ObjectKey): Promise<ObjectRecord | null> {
  const deadline = Date.now() + cache.waitMs;
  for (;;) {
    const record = await cache.records.read(key);
    if (record !== null) {
      cache.stats.coalesced += 1;
      return record;
    }
    const heldUntil = await cache.fleet.leases.objectFillHeld(key);
    if (heldUntil === null) {
      // The holder writes its record before it lets go of the lease: one gone since the read above may
      // have left the record behind it, and fetching the object again would be a second fill.
      const written = await cache.records.read(key);
      if (written !== null) cache.stats.coalesced += 1;
      return written;
    }
    if (Date.now() >= deadline) return null;
    await sleep(POLL_MS);
  }
}

/** Announces the cells `first..last` of `v` this instance is about to fetch. */
export function announceFetch(cache: Cache, v: ObjectVersion, first: number, last: number) {
  return cache.fleet.leases.announceRun(v, first, last);
}

/** Cells of `v` among `indexes` that another instance is bringing now. */
export async function cellsLeasedElsewhere(cache: Cache, v: ObjectVersion, indexes: number[]) {
  // Leases that cannot be read count as none: this instance fetches the cells itself (a duplicate at most).
  const runs = await cache.fleet.leases.heldRuns(v).catch(() => []);
  return new Set(indexes.filter((i) => runs.some((r) => r.first <= i && i <= r.last)));
}

/**
 * Waits until the cell's bytes `[from, to)` are on the volume, the lease that promised them is gone, or
 * the wait has lasted long enough. The caller reads the cell afterwards either way.
 */
export async function awaitLeasedCell(
  cache: Cache,
  v: ObjectVersion,
  index: number,
  cellLength: number,
  range: { from: number; to: number },
): Promise<void> {
  const deadline = Date.now() + Math.min(cache.waitMs, cache.fleet.leases.leaseMs);
  let checks = 0;
  while (Date.now() < deadline) {
    const extents = await cache.chunks.probe(v, index, cellLength);
    if (extents.some((e) => e.start <= range.from && e.end >= range.to)) return;
    // The lease file is re-read every few polls only: a stat per poll is enough for the chunk.
    if (++checks % 10 === 0 && !(await cache.fleet.leases.stillHeld(v, index))) return;
    await sleep(POLL_MS);
  }
}
