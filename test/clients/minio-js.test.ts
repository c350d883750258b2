// minio-js (the `minio` npm package, 8.0) through Kura and direct against RGW: fPutObject (multipart at
// 5 MiB parts, after asking ListMultipartUploads for an upload to resume), fGetObject, getPartialObject,
// copyObject, removeObject and presignedGetObject. minio-js has no sync.

import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Client } from 'minio';
import type { Outcome, Side } from '../support/client-matrix.js';
import { clientMatrixTests } from '../support/client-suite.js';

const clients = new Map<string, Client>();

function client(side: Side): Client {
  let c = clients.get(side.name);
  if (!c) {
    const url = new URL(side.endpoint);
    c = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      region: 'us-east-1',
      pathStyle: true,
      partSize: 5 * 2 ** 20,
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
    const e = err as { code?: string; name?: string; message?: string };
    return { code: e.code ?? e.name ?? 'Error', detail: e.message ?? String(err) };
  }
}

clientMatrixTests({
  name: 'minio-js',
  upload: (m, side, file, key) => outcome(() => client(side).fPutObject(m.bucket, key, file)),
  async list(m, side, prefix) {
    const r = await outcome(async () => {
      const entries: Array<{ key: string; size: number }> = [];
      for await (const o of client(side).listObjectsV2(m.bucket, prefix, true)) {
        const item = o as { name?: string; size?: number };
        if (item.name) entries.push({ key: item.name, size: item.size ?? 0 });
      }
      return entries;
    });
    return { ...r, entries: r.value ?? [] };
  },
  download: (m, side, key, file) => outcome(() => client(side).fGetObject(m.bucket, key, file)),
  downloadRange: (m, side, key, first, last, file) =>
    outcome(async () => {
      const body = await client(side).getPartialObject(m.bucket, key, first, last - first + 1);
      await pipeline(body, createWriteStream(file));
    }),
  copy: (m, side, from, to) => outcome(() => client(side).copyObject(m.bucket, to, `/${m.bucket}/${from}`)),
  remove: (m, side, key) => outcome(() => client(side).removeObject(m.bucket, key)),
  async presign(m, side, key) {
    const r = await outcome(() => client(side).presignedGetObject(m.bucket, key, 600));
    return { ...r, url: r.value };
  },
});
