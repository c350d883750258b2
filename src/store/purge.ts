// `kura cache purge <bucket>[/<prefix>]`: removes cached objects while instances keep running. Each
// record is removed under its lock (as eviction does), then its data; a reader that already holds the
// record finds the chunks gone and falls back to S3. A whole bucket also loses data no record names.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkStore } from './chunks.js';
import type { RecordStore } from './records.js';
import { readRecordLoosely } from './sweeps.js';

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
  const root = join(volumeDir, 'objects', bucket);
  for (const a of await names(root)) {
    for (const b of await names(join(root, a))) {
      for (const file of await names(join(root, a, b))) {
        if (!file.endsWith('.json')) continue;
        const record = await readRecordLoosely(join(root, a, b, file));
        if (record === null || record.bucket !== bucket || !record.key.startsWith(prefix)) continue;
        const k = { namespace: record.namespace, bucket: record.bucket, key: record.key };
        await stores.records.remove(k);
        await stores.chunks.removeObject(k);
        report.objects += 1;
      }
    }
  }
  if (prefix === '') {
    const data = join(volumeDir, 'data', bucket);
    report.orphanDirs = (await names(data)).length;
    await rm(data, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
  return report;
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}
