// Walking the volume's files: what the leader rebuilds its accounting from when its state is lost, what
// the rolling scan corrects it with, and what `kura cache verify` checks.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ScannedObject {
  /** Bytes of the record file; 0 when there is none. */
  record: number;
  recordPath: string | null;
  /** etagName → chunk file name → bytes. */
  versions: Map<string, Map<string, number>>;
  /** Newest modification time of each version's directory. */
  versionTimes: Map<string, number>;
}

/**
 * Every object on the volume by object id (`{bucket}/{h0:2}/{h2:4}/{h}`). Entries of the wrong type (a
 * directory where a chunk or record file belongs, a file where a directory belongs) are skipped, and
 * their paths pushed to `wrongTypes`.
 */
export async function scanVolume(
  volumeDir: string,
  wrongTypes: string[] = [],
): Promise<Map<string, ScannedObject>> {
  const found = new Map<string, ScannedObject>();
  for (const shard of await listShards(volumeDir, wrongTypes)) {
    for (const [id, o] of await scanShard(volumeDir, shard, wrongTypes)) found.set(id, o);
  }
  return found;
}

/**
 * The volume's shards, `{bucket}/{h0:2}`, sorted: the unit of the leader's rolling scan (at most 256 per
 * bucket, each a small slice of the objects).
 */
export async function listShards(volumeDir: string, wrongTypes: string[] = []): Promise<string[]> {
  const shards = new Set<string>();
  for (const top of ['objects', 'data']) {
    const root = join(volumeDir, top);
    for (const bucket of await namesOf(root, wrongTypes)) {
      for (const a of await namesOf(join(root, bucket), wrongTypes)) shards.add(`${bucket}/${a}`);
    }
  }
  return [...shards].sort();
}

/** The objects of one shard by object id. */
export async function scanShard(
  volumeDir: string,
  shard: string,
  wrongTypes: string[] = [],
): Promise<Map<string, ScannedObject>> {
  const names = (dir: string) => namesOf(dir, wrongTypes);
  const found = new Map<string, ScannedObject>();
  const get = (id: string): ScannedObject => {
    let o = found.get(id);
    if (!o) {
      o = { record: 0, recordPath: null, versions: new Map(), versionTimes: new Map() };
      found.set(id, o);
    }
    return o;
  };
  const recordsRoot = join(volumeDir, 'objects', shard);
  for (const b of await names(recordsRoot)) {
    const dir = join(recordsRoot, b);
    for (const name of await names(dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) {
        if (st) wrongTypes.push(path);
        continue;
      }
      const o = get(`${shard}/${b}/${name.slice(0, -'.json'.length)}`);
      o.record = st.size;
      o.recordPath = path;
    }
  }
  const dataRoot = join(volumeDir, 'data', shard);
  for (const b of await names(dataRoot)) {
    for (const h of await names(join(dataRoot, b))) {
      const objectDir = join(dataRoot, b, h);
      for (const version of await names(objectDir)) {
        const versionDir = join(objectDir, version);
        const vst = await stat(versionDir).catch(() => null);
        if (!vst?.isDirectory()) {
          if (vst) wrongTypes.push(versionDir);
          continue;
        }
        const chunks = new Map<string, number>();
        for (const chunk of await names(versionDir)) {
          const st = await stat(join(versionDir, chunk)).catch(() => null);
          if (st?.isFile()) chunks.set(chunk, st.size);
          else if (st) wrongTypes.push(join(versionDir, chunk));
        }
        const o = get(`${shard}/${b}/${h}`);
        o.versions.set(version, chunks);
        o.versionTimes.set(version, vst.mtimeMs);
      }
    }
  }
  return found;
}

/** The names in `dir`; a file standing where the directory belongs is pushed to `wrongTypes`. */
async function namesOf(dir: string, wrongTypes: string[]): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') wrongTypes.push(dir);
    return [];
  }
}

export function scannedBytes(o: ScannedObject): number {
  let n = o.record;
  for (const chunks of o.versions.values()) for (const b of chunks.values()) n += b;
  return n;
}
