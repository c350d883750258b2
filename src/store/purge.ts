// `kura cache purge <bucket>[/<prefix>]`: removes cached objects while instances keep running. Each
// record is removed under its lock (as eviction does), then its data; a reader that already holds the
// record finds the chunks gone and falls back to S3. A whole bucket also loses data no record names.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkStore } from './chunks.js';
import type { RecordStore } from './records.js';
import { readRecordLoosely } from './sweeps.js';
import type { ObjectKey } from './types.js';

export interface PurgeReport {
  objects: number;
  /** Directories of a whole-bucket purge that no record named. */
  orphanDirs: number;
}

export async function purgeVolume(
  volumeDir: string,
  stores: { records: RecordStore; chunks: ChunkStore },
  bucket: string,
  prefix: string,
): Promise<PurgeReport> {
  const report: PurgeReport = { objects: 0, orphanDirs: 0 };
  for await (const k of recordedKeys(volumeDir, bucket)) {
    if (!k.key.startsWith(prefix)) continue;
    await stores.records.remove(k);
    await stores.chunks.removeObject(k);
    report.objects += 1;
  }
  if (prefix === '') {
    const data = join(volumeDir, 'data', bucket);
    report.orphanDirs = (await names(data)).length;
    await rm(data, { recursive: true, force: true });
    await rm(join(volumeDir, 'objects', bucket), { recursive: true, force: true });
    await stores.records.markChanged();
  }
  return report;
}

/**
 * The key of every record under `objects/{bucket}/` (any namespace: the directory is named by the bucket
 * alone, src/store/volume.ts), read from the records themselves since file names are hashes. A record
 * that cannot be read is skipped: it serves nothing.
 */
export async function* recordedKeys(volumeDir: string, bucket: string): AsyncGenerator<ObjectKey> {
  const root = join(volumeDir, 'objects', bucket);
  for (const a of await names(root)) {
    for (const b of await names(join(root, a))) {
      for (const file of await names(join(root, a, b))) {
        if (!file.endsWith('.json')) continue;
        const record = await readRecordLoosely(join(root, a, b, file));
        if (
          record?.bucket !== bucket ||
          typeof record.namespace !== 'string' ||
          typeof record.key !== 'string'
        ) {
          continue;
        }
        yield { namespace: record.namespace, bucket: record.bucket, key: record.key };
      }
    }
  }
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}
