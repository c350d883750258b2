// Reading objects through Kura the two ways clients do: the AWS SDK (which signs its Range header) and a
// presigned URL with an unsigned Range header (what browsers, curl and some engines send).

import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { presign, s3Path, sendRaw } from './signing.js';

/**
 * An SDK client whose outputs carry the raw response headers as `$headers` (for X-Cache). With
 * `sdkDefaults`, it keeps the SDK's own checksum behaviour: stream uploads go aws-chunked with a CRC32
 * trailer.
 */
export function sdkClient(endpoint: string, opts: { sdkDefaults?: boolean } = {}): S3Client {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: opts.sdkDefaults ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const response = result.response as { headers?: Record<string, string> };
      (result.output as { $headers?: Record<string, string> }).$headers = response.headers ?? {};
      return result;
    },
    { step: 'initialize', name: 'kuraResponseHeaders' },
  );
  return client;
}

export interface Read {
  status: number;
  body: Buffer;
  xCache: string | undefined;
  contentRange: string | undefined;
  etag: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Why the client saw no complete answer, when it saw none. */
  error?: string;
}

/** GetObject through the SDK: `range` is signed. */
export async function sdkGet(client: S3Client, bucket: string, key: string, range?: string): Promise<Read> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
    const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    const headers = (out as { $headers?: Record<string, string> }).$headers ?? {};
    return {
      status: out.$metadata.httpStatusCode ?? 0,
      body,
      xCache: headers['x-cache'],
      contentRange: out.ContentRange,
      etag: out.ETag,
      headers,
    };
  } catch (err) {
    const e = err as {
      $metadata?: { httpStatusCode?: number };
      $response?: { headers?: Record<string, string> };
    };
    return {
      status: e.$metadata?.httpStatusCode ?? 0,
      body: Buffer.alloc(0),
      xCache: e.$response?.headers?.['x-cache'],
      contentRange: undefined,
      etag: undefined,
      headers: e.$response?.headers ?? {},
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    };
  }
}

export async function sdkHead(client: S3Client, bucket: string, key: string, partNumber?: number) {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: partNumber }));
}

/** A presigned GET (only `host` signed) with an unsigned Range header, on a fresh connection. */
export async function presignedGet(
  baseUrl: string,
  bucket: string,
  key: string,
  opts: { range?: string; query?: Record<string, string>; headers?: string[] } = {},
): Promise<Read> {
  const target = await presign(baseUrl, { method: 'GET', path: s3Path(bucket, key), query: opts.query });
  const headers = [
    'Host',
    new URL(baseUrl).host,
    ...(opts.range ? ['Range', opts.range] : []),
    ...(opts.headers ?? []),
  ];
  const res = await sendRaw(baseUrl, { method: 'GET', rawUrl: target, headers });
  return {
    status: res.status,
    body: res.body,
    xCache: res.headers['x-cache'] as string | undefined,
    contentRange: res.headers['content-range'],
    etag: res.headers.etag,
    headers: res.headers,
  };
}

/** The bytes S3 answers for a single Range (RFC 9110 §14.1.2): `[start, end]` inclusive, or null for 416. */
export function expectedRange(size: number, range: string): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(range);
  if (!m) throw new Error(`not a single range: ${range}`);
  const [first, last] = [m[1] as string, m[2] as string];
  if (size === 0) return null;
  if (first === '') {
    const n = Number(last);
    return n === 0 ? null : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return null;
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** A small seeded PRNG (mulberry32): the same ranges on every run, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
