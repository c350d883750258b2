// The data lake of the analytics workload: a hive-partitioned dataset (`day=N/region=R/part-0.parquet`)
// of small Parquet files, as streaming ingest leaves them, generated once per spec under bench/.cache.
// Within a file, rows are sorted by `minute` (of the day), so that a predicate on it prunes row groups by
// their statistics, and the partition columns prune files by their paths.

import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CACHE_DIR, objectBytes } from './data.js';

export interface LakeSpec {
  days: number;
  regions: number;
  rowsPerFile: number;
  rowGroupSize: number;
}

export const LAKE_PREFIX = 'lake/events/';
export const REGIONS = ['eu', 'us', 'ap', 'sa', 'af', 'me'];

export interface LakeFile {
  key: string;
  path: string;
}

const relative = (day: number, region: string) => `day=${day}/region=${region}/part-0.parquet`;

/** Every file of the lake, generated on first use: its key at the origin and its path on disk. */
export async function lakeFiles(spec: LakeSpec): Promise<LakeFile[]> {
  if (spec.regions > REGIONS.length) throw new Error(`at most ${REGIONS.length} regions`);
  const name = `lake-${spec.days}x${spec.regions}-${spec.rowsPerFile}-${spec.rowGroupSize}`;
  const dir = join(CACHE_DIR, name);
  const files: { day: number; region: string }[] = [];
  for (let day = 1; day <= spec.days; day++) {
    for (const region of REGIONS.slice(0, spec.regions)) files.push({ day, region });
  }
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    for (const [i, f] of files.entries()) await writeLakeFile(spec, i, join(tmp, relative(f.day, f.region)));
    await rename(tmp, dir);
  }
  return files.map((f) => ({
    key: LAKE_PREFIX + relative(f.day, f.region),
    path: join(dir, relative(f.day, f.region)),
  }));
}

/** File `index` of the lake: ids that run on across files, the minute of the day, doubles, strings. */
async function writeLakeFile(spec: LakeSpec, index: number, path: string): Promise<void> {
  const { default: pl } = await import('nodejs-polars');
  const n = spec.rowsPerFile;
  const random = objectBytes(`lake-${index}`, n * 32);
  const doubles = (i: number) =>
    Float64Array.from({ length: n }, (_, r) => random.readUInt32LE(r * 32 + i * 4) / 2 ** 32);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const df = pl.DataFrame({
    id: pl.Series(
      'id',
      BigInt64Array.from({ length: n }, (_, r) => BigInt(index * n + r)),
      pl.Int64,
    ),
    minute: pl.Series(
      'minute',
      BigInt64Array.from({ length: n }, (_, r) => BigInt(Math.floor((r * 1440) / n))),
      pl.Int64,
    ),
    value: pl.Series('value', doubles(0), pl.Float64),
    score: pl.Series('score', doubles(1), pl.Float64),
    price: pl.Series('price', doubles(2), pl.Float64),
    category: pl.Series(
      'category',
      Array.from({ length: n }, (_, r) => `c${(random[r * 32 + 12] ?? 0) % 12}`),
    ),
    name: pl.Series(
      'name',
      Array.from({ length: n }, (_, r) => {
        let s = '';
        for (let j = 0; j < 16; j++) s += letters[(random[r * 32 + 16 + j] ?? 0) % 26];
        return s;
      }),
    ),
  });
  await mkdir(join(path, '..'), { recursive: true });
  df.lazy()
    .sinkParquet(path, { compression: 'snappy', rowGroupSize: spec.rowGroupSize, statistics: true })
    .collectSync();
}
