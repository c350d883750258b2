// What the benchmarks serve: object bodies that every process can make alike from a key alone (so the
// origin, the ceiling server and the checks agree without passing bytes around), and the Parquet file of
// the analytics workload, generated once and kept in a gitignored cache directory.

import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUCKET = 'kura-bench';
export const KiB = 1024;
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** bench/.cache in the source tree (not dist/), so a rebuild keeps it. */
export const CACHE_DIR = fileURLToPath(new URL('../../bench/.cache', import.meta.url));

export interface ObjectSpec {
  key: string;
  size: number;
}

/**
 * Pseudo-random bytes for `key`: AES-256-CTR's keystream under sha256(key). Incompressible, like most
 * data in S3 (Parquet pages, images), so Kura's LZ4 stores it raw and no target wins by compressing.
 */
export function objectBytes(key: string, size: number): Buffer {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(key).digest(), Buffer.alloc(16));
  const out = Buffer.allocUnsafe(size);
  const zeros = Buffer.alloc(Math.min(size, 64 * MiB));
  for (let at = 0; at < size; at += zeros.length) {
    const n = Math.min(zeros.length, size - at);
    cipher.update(zeros.subarray(0, n)).copy(out, at);
  }
  return out;
}

export interface ParquetSpec {
  rows: number;
  rowGroupSize: number;
}

/**
 * A Parquet file of `rows` rows (an ordered id, a timestamp, four random doubles, a category and a
 * 16-character random string), Snappy-compressed (hyparquet reads it without a plug-in), cut into row
 * groups of `rowGroupSize`. Written once per spec under CACHE_DIR; later runs reuse it.
 */
export async function parquetFile(spec: ParquetSpec): Promise<string> {
  const path = join(CACHE_DIR, `analytics-${spec.rows}-${spec.rowGroupSize}.parquet`);
  if (existsSync(path)) return path;
  await mkdir(dirname(path), { recursive: true });
  const { default: pl } = await import('nodejs-polars');
  const random = objectBytes(`parquet-${spec.rows}`, spec.rows * 40);
  const doubles = (i: number) =>
    Float64Array.from({ length: spec.rows }, (_, r) => random.readUInt32LE(r * 40 + i * 4) / 2 ** 32);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const names = Array.from({ length: spec.rows }, (_, r) => {
    let s = '';
    for (let j = 0; j < 16; j++) s += letters[(random[r * 40 + 24 + j] ?? 0) % 26];
    return s;
  });
  const df = pl.DataFrame({
    id: pl.Series(
      'id',
      BigInt64Array.from({ length: spec.rows }, (_, r) => BigInt(r)),
      pl.Int64,
    ),
    ts: pl.Series(
      'ts',
      BigInt64Array.from({ length: spec.rows }, (_, r) => 1_700_000_000_000n + BigInt(r) * 37n),
      pl.Int64,
    ),
    value: pl.Series('value', doubles(0), pl.Float64),
    score: pl.Series('score', doubles(1), pl.Float64),
    price: pl.Series('price', doubles(2), pl.Float64),
    weight: pl.Series('weight', doubles(3), pl.Float64),
    category: pl.Series(
      'category',
      Array.from({ length: spec.rows }, (_, r) => `c${(random[r * 40 + 22] ?? 0) % 12}`),
    ),
    name: pl.Series('name', names),
  });
  const tmp = `${path}.tmp-${process.pid}`;
  df.lazy()
    .sinkParquet(tmp, { compression: 'snappy', rowGroupSize: spec.rowGroupSize, statistics: true })
    .collectSync();
  await rename(tmp, path);
  return path;
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
