// A key's name, `{namespace}\n{bucket}\n{key}`: what the in-memory tables of keys go by (the in-flight
// fills and record writes, the volume's places, the journal's read counts); and a version's, with its
// cells' names, which the RAM tier and the in-flight chunk writes go by.
//
// A hit looks its key up in several of them. V8 looks a string up in a map by its interned copy: a name made
// afresh for each request costs a hash of its text and a search of V8's string table at every table, which
// `perf` put at several percent of a small hit. The name of a key used lately is made once and found again
// by the key's own string, which the parse of a repeated request target gives back as the same string
// (src/s3/request.ts), already interned; a version's by its key's name.

import type { ObjectKey, ObjectVersion } from './types.js';

/** Names remembered at most (a few MB); forgotten all at once past that. */
const REMEMBERED = 10_000;

interface Named {
  namespace: string;
  bucket: string;
  name: string;
}

/** By key: the names of that key in each namespace and bucket it was seen in. */
const byKey = new Map<string, Named[]>();
let remembered = 0;

/** `k`'s name: the same string for the same key each time, while it is among those used lately. */
export function keyName(k: ObjectKey): string {
  const same = byKey.get(k.key);
  if (same !== undefined) {
    for (const n of same) if (n.bucket === k.bucket && n.namespace === k.namespace) return n.name;
  }
  const name = `${k.namespace}\n${k.bucket}\n${k.key}`;
  if (remembered >= REMEMBERED) {
    byKey.clear();
    remembered = 0;
  }
  const named: Named = { namespace: k.namespace, bucket: k.bucket, name };
  const list = byKey.get(k.key);
  if (list === undefined) byKey.set(k.key, [named]);
  else list.push(named);
  remembered += 1;
  return name;
}

/** Versions whose names are remembered at most; forgotten all at once past that. */
const VERSIONS_REMEMBERED = 4_096;
/** The cells of a version whose names it keeps, its first: every cell of most objects, a few MB in all. */
const CELL_NAMES = 16;

/**
 * The name of cell `index` of the version (or upload staging) named `versionId`: what the RAM tier and
 * the in-flight chunk writes go by, so a reader finds the chunk a fill claimed.
 */
export function cellName(versionId: string, index: number): string {
  return `${versionId}/${index}`;
}

/** A version's name, and its cells' names: the RAM tier's and the in-flight tables' ids of its chunks. */
export class VersionName {
  /** `{key name}\n{etag}`. */
  readonly id: string;
  readonly etag: string;
  readonly #cells: string[] = [];

  constructor(key: string, etag: string) {
    this.id = `${key}\n${etag}`;
    this.etag = etag;
  }

  /** Cell `index`'s name (`cellName`). */
  cell(index: number): string {
    if (index >= CELL_NAMES) return cellName(this.id, index);
    let name = this.#cells[index];
    if (name === undefined) {
      name = cellName(this.id, index);
      this.#cells[index] = name;
    }
    return name;
  }
}

/** By key name: the names of that key's versions seen lately. */
const versionsByKey = new Map<string, VersionName[]>();
let versionsRemembered = 0;

/** `v`'s name: the same one for the same version each time, while it is among those used lately. */
export function versionName(v: ObjectVersion): VersionName {
  const key = keyName(v);
  const same = versionsByKey.get(key);
  if (same !== undefined) {
    for (const n of same) if (n.etag === v.etag) return n;
  }
  const named = new VersionName(key, v.etag);
  if (versionsRemembered >= VERSIONS_REMEMBERED) {
    versionsByKey.clear();
    versionsRemembered = 0;
  }
  const list = versionsByKey.get(key);
  if (list === undefined) versionsByKey.set(key, [named]);
  else list.push(named);
  versionsRemembered += 1;
  return named;
}
