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

/** Every object on the volume by object id (`{bucket}/{h0:2}/{h2:4}/{h}`). */
export async function scanVolume(volumeDir: string): Promise<Map<string, ScannedObject>> {
  const found = new Map<string, ScannedObject>();
  const get = (id: string): ScannedObject => {
    let o = found.get(id);
    if (!o) {
      o = { record: 0, recordPath: null, versions: new Map(), versionTimes: new Map() };
      found.set(id, o);
    }
    return o;
  };
  for (const { id, dir } of await hashDirs(join(volumeDir, 'objects'))) {
    for (const name of await names(dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) continue;
      const o = get(`${id}/${name.slice(0, -'.json'.length)}`);
      o.record = st.size;
      o.recordPath = path;
    }
  }
  for (const { id, dir } of await hashDirs(join(volumeDir, 'data'))) {
    for (const h of await names(dir)) {
      const objectDir = join(dir, h);
      for (const version of await names(objectDir)) {
        const versionDir = join(objectDir, version);
        const vst = await stat(versionDir).catch(() => null);
        if (!vst?.isDirectory()) continue;
        const chunks = new Map<string, number>();
        for (const chunk of await names(versionDir)) {
          const st = await stat(join(versionDir, chunk)).catch(() => null);
          if (st?.isFile()) chunks.set(chunk, st.size);
        }
        const o = get(`${id}/${h}`);
        o.versions.set(version, chunks);
        o.versionTimes.set(version, vst.mtimeMs);
      }
    }
  }
  return found;
}

/** `{bucket}/{h0:2}/{h2:4}` directories under `root`, with their ids. */
async function hashDirs(root: string): Promise<{ id: string; dir: string }[]> {
  const out: { id: string; dir: string }[] = [];
  for (const bucket of await names(root)) {
    for (const a of await names(join(root, bucket))) {
      for (const b of await names(join(root, bucket, a))) {
        out.push({ id: `${bucket}/${a}/${b}`, dir: join(root, bucket, a, b) });
      }
    }
  }
  return out;
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

export function scannedBytes(o: ScannedObject): number {
  let n = o.record;
  for (const chunks of o.versions.values()) for (const b of chunks.values()) n += b;
  return n;
}
