// The AWS SDK for JavaScript v3 as applications use it for files: @aws-sdk/lib-storage's Upload (one
// PutObject below its 5 MiB part size, a multipart upload above, both with the SDK's default checksums,
// so aws-chunked bodies with a CRC32 trailer), GetObject whole and ranged, CopyObject, DeleteObject and
// @aws-sdk/s3-request-presigner's getSignedUrl, through Kura and direct against RGW. The SDK has no sync.

import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ClientMatrix, Outcome, Side } from '../support/client-matrix.js';
import { clientMatrixTests } from '../support/client-suite.js';

const clients = new Map<string, S3Client>();

function client(side: Side): S3Client {
  let c = clients.get(side.name);
  if (!c) {
    c = new S3Client({
      endpoint: side.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    clients.set(side.name, c);
  }
  return c;
}

/** 0, or the S3 error code (or Node's error code) the call failed with. */
async function outcome<T>(call: () => Promise<T>): Promise<Outcome & { value?: T }> {
  try {
    return { code: 0, value: await call() };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    return { code: e.code ?? e.name ?? 'Error', detail: e.message ?? String(err) };
  }
}

async function getToFile(m: ClientMatrix, side: Side, key: string, file: string, range?: string) {
  const res = await client(side).send(new GetObjectCommand({ Bucket: m.bucket, Key: key, Range: range }));
  await pipeline(res.Body as Readable, createWriteStream(file));
}

clientMatrixTests({
  name: 'lib-storage',
  async teardown() {
    for (const c of clients.values()) c.destroy();
  },
  upload: (m, side, file, key) =>
    outcome(() =>
      new Upload({
        client: client(side),
        params: { Bucket: m.bucket, Key: key, Body: createReadStream(file) },
        partSize: 5 * 2 ** 20,
        queueSize: 2,
      }).done(),
    ),
  async list(m, side, prefix) {
    const r = await outcome(async () => {
      const entries: Array<{ key: string; size: number }> = [];
      for await (const page of paginateListObjectsV2(
        { client: client(side) },
        { Bucket: m.bucket, Prefix: prefix },
      )) {
        for (const o of page.Contents ?? []) entries.push({ key: o.Key ?? '', size: o.Size ?? 0 });
      }
      return entries;
    });
    return { ...r, entries: r.value ?? [] };
  },
  download: (m, side, key, file) => outcome(() => getToFile(m, side, key, file)),
  downloadRange: (m, side, key, first, last, file) =>
    outcome(() => getToFile(m, side, key, file, `bytes=${first}-${last}`)),
  copy: (m, side, from, to) =>
    outcome(() =>
      client(side).send(
        new CopyObjectCommand({ Bucket: m.bucket, Key: to, CopySource: `${m.bucket}/${from}` }),
      ),
    ),
  remove: (m, side, key) =>
    outcome(() => client(side).send(new DeleteObjectCommand({ Bucket: m.bucket, Key: key }))),
  async presign(m, side, key) {
    const r = await outcome(() =>
      getSignedUrl(client(side), new GetObjectCommand({ Bucket: m.bucket, Key: key }), { expiresIn: 600 }),
    );
    return { ...r, url: r.value };
  },
});
