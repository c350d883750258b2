// Requests the worker-group tests (test/e2e/workers*.test.ts) make of a `kura serve --workers 2`: a
// presigned GET on a connection of its own, and the admin port's /stats with its per-worker rows.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { KuraProcess } from './kura.js';
import { presign, s3Path } from './signing.js';

export const BUCKET = 'kura-test';
export const KiB = 1024;

export interface Got {
  status: number;
  xCache: string | undefined;
  body: Buffer;
  socket: Socket;
}

/** A presigned GET through Kura; `agent: false` opens a connection of its own. */
export async function get(kura: KuraProcess, key: string, agent: http.Agent | false = false): Promise<Got> {
  const path = await presign(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: kura.port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          xCache: res.headers['x-cache'] as string | undefined,
          body: Buffer.concat(chunks),
          socket: req.socket as Socket,
        }),
      );
      res.on('error', (err) => reject(Object.assign(err, { socket: req.socket })));
    });
    req.on('error', (err) => reject(Object.assign(err, { socket: req.socket })));
  });
}

export interface WorkerStats {
  worker: number;
  pid: number;
  cache: { hits: number; misses: number };
  requests: { byResult: Record<string, number> };
}

export async function stats(
  admin: string,
): Promise<{ workers: WorkerStats[]; cache: { hits: number; misses: number } }> {
  const res = await fetch(`${admin}/stats`);
  assert.equal(res.status, 200);
  return (await res.json()) as { workers: WorkerStats[]; cache: { hits: number; misses: number } };
}
