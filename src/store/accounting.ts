// What the leader knows about the volume: bytes per object, per version and per chunk file, and how
// often and how recently each object was read. Built from journal events; saved to `state/`; corrected
// by scans of the files actually present. Chunk sizes are set, not added, so replaying an event twice
// (a segment read again after a crash of the leader) changes nothing.

import type { JournalEvent } from './journal.js';
import type { ObjectRecord } from './types.js';

/** Reads decay by half over this time: an object read often last week weighs less than one read today. */
export const FREQUENCY_HALF_LIFE_MS = 60 * 60 * 1000;
/** Removals are remembered this long, so that a late add from a slower instance's journal is ignored. */
const TOMBSTONE_MS = 10 * 60 * 1000;

export interface ObjectState {
  /** Bytes of the record file; 0 when there is none. */
  record: number;
  source: ObjectRecord['source'] | null;
  /** etagName → chunk file name → bytes. */
  versions: Map<string, Map<string, number>>;
  /** Decayed read count as of `lastAccess`. */
  frequency: number;
  lastAccess: number;
  /** When the volume first held anything of this object (the admission window counts from here). */
  firstSeen: number;
  /** When the record was last written: an older removal event leaves it counted. */
  recordAt: number;
  /** etagName → time of the latest chunk added: a removal older than that leaves the version counted. */
  lastAdd: Map<string, number>;
}

export interface SavedState {
  format: 1;
  savedAt: number;
  objects: [string, SavedObject][];
}

interface SavedObject {
  r: number;
  s: ObjectRecord['source'] | null;
  f: number;
  a: number;
  c: number;
  v: Record<string, Record<string, number>>;
}

export class Accounting {
  readonly objects = new Map<string, ObjectState>();
  #total = 0;
  #tombstones = new Map<string, number>();

  get totalBytes(): number {
    return this.#total;
  }

  get versionCount(): number {
    let n = 0;
    for (const o of this.objects.values()) n += o.versions.size;
    return n;
  }

  /** Bytes of objects made by a write through Kura (PUT, multipart). */
  writtenBytes(): number {
    let n = 0;
    for (const o of this.objects.values()) if (o.source === 'put') n += bytesOf(o);
    return n;
  }

  apply(at: number, e: JournalEvent): void {
    switch (e.kind) {
      case 'chunk': {
        // Added in the very millisecond of a removal: counted (too much is corrected by the next scan,
        // too little would let the volume pass its size).
        if ((this.#tombstones.get(`${e.object}/${e.version}`) ?? -1) > at) return;
        const o = this.#object(e.object, at);
        let chunks = o.versions.get(e.version);
        if (!chunks) {
          chunks = new Map();
          o.versions.set(e.version, chunks);
        }
        this.#total += e.bytes - (chunks.get(e.chunk) ?? 0);
        chunks.set(e.chunk, e.bytes);
        o.lastAdd.set(e.version, Math.max(o.lastAdd.get(e.version) ?? 0, at));
        o.lastAccess = Math.max(o.lastAccess, at);
        return;
      }
      case 'chunk-removed': {
        const o = this.objects.get(e.object);
        const chunks = o?.versions.get(e.version);
        if (!chunks || (o?.lastAdd.get(e.version) ?? 0) > at) return;
        this.#total -= chunks.get(e.chunk) ?? 0;
        chunks.delete(e.chunk);
        return;
      }
      case 'version-removed':
        this.dropVersion(e.object, e.version, at);
        return;
      case 'data-removed': {
        const o = this.objects.get(e.object);
        if (!o) return;
        for (const v of [...o.versions.keys()]) this.dropVersion(e.object, v, at);
        return;
      }
      case 'record': {
        const o = this.#object(e.object, at);
        this.#total += e.bytes - o.record;
        o.record = e.bytes;
        o.source = e.source;
        o.recordAt = Math.max(o.recordAt, at);
        return;
      }
      case 'record-removed': {
        const o = this.objects.get(e.object);
        if (!o || o.recordAt > at) return;
        this.#total -= o.record;
        o.record = 0;
        this.#forgetIfEmpty(e.object, o);
        return;
      }
      case 'read': {
        const o = this.objects.get(e.object);
        if (!o) return;
        o.frequency = decayed(o, at) + e.count;
        o.lastAccess = Math.max(o.lastAccess, at);
        return;
      }
    }
  }

  dropVersion(object: string, version: string, at: number): void {
    this.#tombstones.set(`${object}/${version}`, at);
    const o = this.objects.get(object);
    const chunks = o?.versions.get(version);
    if (!o || !chunks) return;
    // Written again after this removal (by another instance, journaled later): the files are there.
    // Counting too much only evicts a little early; the next scan corrects it either way.
    if ((o.lastAdd.get(version) ?? 0) >= at) return;
    for (const b of chunks.values()) this.#total -= b;
    o.versions.delete(version);
    o.lastAdd.delete(version);
    this.#forgetIfEmpty(object, o);
  }

  /** The leader removed the object's record and data at `at`: later adds count, earlier ones do not. */
  evicted(object: string, at: number): void {
    const o = this.objects.get(object);
    if (!o) return;
    for (const v of [...o.versions.keys()]) this.dropVersion(object, v, at);
    this.apply(at, { kind: 'record-removed', object });
  }

  /** Replaces what is known of one object's files with what a scan found (frequency is kept). */
  correct(object: string, found: { record: number; versions: Map<string, Map<string, number>> }, at: number) {
    const o = this.objects.get(object);
    if (o) this.#total -= bytesOf(o);
    if (found.record === 0 && found.versions.size === 0) {
      if (o) this.objects.delete(object);
      return;
    }
    const next = o ?? this.#object(object, at);
    next.record = found.record;
    next.versions = found.versions;
    this.#total += bytesOf(next);
  }

  /** Forgets tombstones old enough that no journal still holds an add from before them. */
  pruneTombstones(now: number): void {
    for (const [k, at] of this.#tombstones) if (now - at > TOMBSTONE_MS) this.#tombstones.delete(k);
  }

  save(now: number): SavedState {
    return {
      format: 1,
      savedAt: now,
      objects: [...this.objects].map(([id, o]) => [
        id,
        {
          r: o.record,
          s: o.source,
          f: o.frequency,
          a: o.lastAccess,
          c: o.firstSeen,
          v: Object.fromEntries([...o.versions].map(([v, chunks]) => [v, Object.fromEntries(chunks)])),
        },
      ]),
    };
  }

  static load(saved: unknown): Accounting | null {
    const s = saved as SavedState;
    if (typeof s !== 'object' || s === null || s.format !== 1 || !Array.isArray(s.objects)) return null;
    const acc = new Accounting();
    for (const [id, o] of s.objects) {
      const versions = new Map<string, Map<string, number>>();
      for (const [v, chunks] of Object.entries(o.v ?? {})) {
        versions.set(v, new Map(Object.entries(chunks).map(([c, b]) => [c, Number(b) || 0])));
      }
      const state: ObjectState = {
        record: Number(o.r) || 0,
        source: o.s ?? null,
        versions,
        frequency: Number(o.f) || 0,
        lastAccess: Number(o.a) || 0,
        firstSeen: Number(o.c) || 0,
        recordAt: 0,
        lastAdd: new Map(),
      };
      acc.objects.set(id, state);
      acc.#total += bytesOf(state);
    }
    return acc;
  }

  #object(id: string, at: number): ObjectState {
    let o = this.objects.get(id);
    if (!o) {
      o = {
        record: 0,
        source: null,
        versions: new Map(),
        frequency: 0,
        lastAccess: at,
        firstSeen: at,
        recordAt: 0,
        lastAdd: new Map(),
      };
      this.objects.set(id, o);
    }
    return o;
  }

  #forgetIfEmpty(id: string, o: ObjectState): void {
    if (o.record === 0 && o.versions.size === 0) this.objects.delete(id);
  }
}

export function bytesOf(o: ObjectState): number {
  let n = o.record;
  for (const chunks of o.versions.values()) for (const b of chunks.values()) n += b;
  return n;
}

/** The object's read frequency decayed to `now`. */
export function decayed(o: Pick<ObjectState, 'frequency' | 'lastAccess'>, now: number): number {
  const age = Math.max(0, now - o.lastAccess);
  return o.frequency * 0.5 ** (age / FREQUENCY_HALF_LIFE_MS);
}
