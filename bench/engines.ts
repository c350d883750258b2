// The analytics engines, as their users run them against S3: nodejs-polars' lazy scan (Rust's
// object_store underneath, range GETs signed with SigV4) and hyparquet reading through
// @aws-sdk/client-s3. Each runs one query: three columns of the rows whose `value` is above 0.9.

import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type AsyncBuffer, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { BUCKET } from './data.js';

export const ANALYTICS_KEY = 'analytics/events.parquet';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const THRESHOLD = 0.9;
const COLUMNS = ['id', 'value', 'score'];

export type Engine = (endpoint: string) => Promise<number>;

/** polars: scanParquet(...).filter(...).select(...).collect(); the number of rows found. */
export const polarsQuery: Engine = async (endpoint) => {
  const { default: pl } = await import('nodejs-polars');
  const cloudOptions = {
    aws_endpoint_url: endpoint,
    aws_access_key_id: CREDENTIALS.accessKeyId,
    aws_secret_access_key: CREDENTIALS.secretAccessKey,
    aws_region: 'us-east-1',
    aws_allow_http: 'true',
    aws_virtual_hosted_style_request: 'false',
  };
  const df = await pl
    .scanParquet(`s3://${BUCKET}/${ANALYTICS_KEY}`, { cloudOptions })
    .filter(pl.col('value').gt(pl.lit(THRESHOLD)))
    .select(...COLUMNS)
    .collect();
  return df.height;
};

/** An AsyncBuffer over GetObject with a Range, as hyparquet's users wire it to the SDK. */
async function s3File(client: S3Client): Promise<AsyncBuffer> {
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ANALYTICS_KEY }));
  return {
    byteLength: Number(head.ContentLength),
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const range = `bytes=${start}-${end === undefined ? '' : end - 1}`;
      const res = await client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: ANALYTICS_KEY, Range: range }),
      );
      const bytes = await (
        res.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** hyparquet: parquetReadObjects with the columns and a filter; the number of rows found. */
export const hyparquetQuery: Engine = async (endpoint) => {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { httpAgent: { maxSockets: 32, keepAlive: true } } as never,
  });
  try {
    const file = await s3File(client);
    const metadata = await parquetMetadataAsync(file);
    const rows = await parquetReadObjects({
      file,
      metadata,
      columns: COLUMNS,
      filter: { value: { $gt: THRESHOLD } },
    });
    return rows.length;
  } finally {
    client.destroy();
  }
};

export const ENGINES: Record<string, Engine> = { polars: polarsQuery, hyparquet: hyparquetQuery };
