// The analytics queries, as their users run them against S3, each a case of the analytics workload:
//   (a) nodejs-polars (Rust's object_store underneath, SigV4-signed ranges) scans the hive-partitioned lake
//       with a predicate that prunes partitions by path and row groups by statistics;
//   (b) schema discovery: list the lake, read every file's footer (hyparquet's parser, a lean signed client);
//   (c) hyparquet reads three columns of one large file, column chunks decoded, no rows assembled;
//   (d) DuckDB (bench/duckdb.ts), when a build that reaches S3 runs here.
// Each returns a count that every target must agree on.

import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type AsyncBuffer, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { BUCKET } from './data.js';
import { LAKE_PREFIX, type LakeSpec } from './lake.js';
import { SignedPool } from './signed-pool.js';

export const ANALYTICS_KEY = 'analytics/events.parquet';
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const COLUMNS = ['id', 'value', 'score'];
/** Files whose footers a schema discovery reads at once, as engines bound their listing fan-out. */
const FOOTER_FAN_OUT = 16;
/** What an engine reads from a file's end to find its footer in one request (polars' figure). */
const FOOTER_FETCH = 64 * 1024;

export interface AnalyticsCase {
  /** Letter and engine, as the goals name it: `a: polars lake`. */
  name: string;
  /** What it reads, for the table's cell. */
  reads: string;
  /** Untimed, before each query: what a new session of the engine starts from. */
  setUp?(): Promise<void>;
  /** Runs the query once against `endpoint`; a count that must be the same through every target. */
  run(endpoint: string): Promise<number>;
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { httpAgent: { maxSockets: 32, keepAlive: true } } as never,
  });
}

/** An AsyncBuffer over GetObject with a Range, as hyparquet's users wire it to the SDK. */
function s3File(client: S3Client, key: string, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const range = `bytes=${start}-${end === undefined ? '' : end - 1}`;
      const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
      const bytes = await (
        res.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** (a) Rows of the last 7 days, one region, 06:00 to 12:00 (the 2nd of 4 row groups of each file). */
export function polarsLake(spec: LakeSpec): AnalyticsCase {
  const fromDay = Math.max(1, spec.days - 6);
  return {
    name: 'a: polars lake',
    reads: `scanParquet of ${spec.days * spec.regions} files (day=${fromDay}.., region=eu, 06-12h)`,
    async run(endpoint) {
      const { default: pl } = await import('nodejs-polars');
      const cloudOptions = {
        aws_endpoint_url: endpoint,
        aws_access_key_id: CREDENTIALS.accessKeyId,
        aws_secret_access_key: CREDENTIALS.secretAccessKey,
        aws_region: 'us-east-1',
        aws_allow_http: 'true',
        aws_virtual_hosted_style_request: 'false',
      };
      const int = (n: number) => pl.lit(n).cast(pl.Int64);
      const df = await pl
        .scanParquet(`s3://${BUCKET}/${LAKE_PREFIX}**/*.parquet`, { cloudOptions, hivePartitioning: true })
        .filter(
          pl
            .col('region')
            .eq(pl.lit('eu'))
            .and(pl.col('day').gtEq(int(fromDay)))
            .and(pl.col('minute').gtEq(int(360)))
            .and(pl.col('minute').lt(int(720))),
        )
        .select(...COLUMNS)
        .collect();
      return df.height;
    },
  };
}

/**
 * (b) List the lake, then read every file's footer (one range of its last 64 KiB, 16 files at once); the
 * rows the footers describe. The reads go through a lean signed client (bench/signed-pool.ts), as a
 * native engine's would.
 */
export function footerScan(spec: LakeSpec): AnalyticsCase {
  return {
    name: 'b: footer scan',
    reads: `footers of ${spec.days * spec.regions} files after a listing, ${FOOTER_FAN_OUT} at once`,
    async run(endpoint) {
      const pool = new SignedPool(endpoint, FOOTER_FAN_OUT);
      try {
        const files = await pool.list(LAKE_PREFIX);
        let rows = 0;
        let next = 0;
        const worker = async () => {
          while (next < files.length) {
            const f = files[next++] as { key: string; size: number };
            const file: AsyncBuffer = {
              byteLength: f.size,
              async slice(start, end) {
                const last = (end ?? f.size) - 1;
                const bytes = await pool.get(f.key, { range: `bytes=${start}-${last}` });
                return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
              },
            };
            const meta = await parquetMetadataAsync(file, { initialFetchSize: FOOTER_FETCH });
            rows += Number(meta.num_rows);
          }
        };
        await Promise.all(Array.from({ length: FOOTER_FAN_OUT }, worker));
        return rows;
      } finally {
        await pool.close();
      }
    },
  };
}

/** (c) Three columns of every row of one file, decoded column chunk by column chunk. */
export function hyparquetColumns(bytes: number, rowGroups: number): AnalyticsCase {
  return {
    name: 'c: hyparquet columns',
    reads: `${COLUMNS.join(', ')} of one ${(bytes / 2 ** 20).toFixed(0)} MiB file, ${rowGroups} row groups`,
    async run(endpoint) {
      const client = s3Client(endpoint);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ANALYTICS_KEY }));
        const file = s3File(client, ANALYTICS_KEY, Number(head.ContentLength));
        const metadata = await parquetMetadataAsync(file);
        let rows = 0;
        await parquetRead({
          file,
          metadata,
          columns: COLUMNS,
          onChunk: (chunk) => {
            if (chunk.columnName === 'id') rows += chunk.rowEnd - chunk.rowStart;
          },
        });
        return rows;
      } finally {
        client.destroy();
      }
    },
  };
}
