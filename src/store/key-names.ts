// A key's name, `{namespace}\n{bucket}\n{key}`: what the in-memory tables of keys go by (the in-flight
// fills and record writes, the RAM tier's chunk ids, the volume's places, the journal's read counts).
//
// A hit looks its key up in several of them. V8 looks a string up in a map by its interned copy: a name made
// afresh for each request costs a hash of its text and a search of V8's string table at every table, which
// `perf` put at several percent of a small hit. The name of a key used lately is made once and found again
// by the key's own string, which the parse of a repeated request target gives back as the same string
// (src/s3/request.ts), already interned.

import type { ObjectKey } from './types.js';

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
