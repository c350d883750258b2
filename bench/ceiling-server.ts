// The ceiling: the least a Node.js HTTP server can do to serve the benchmark's objects from memory (no
// signature check, no routing, no headers to speak of). What no Node server on this machine can beat;
// Kura's warm figures are read against it.
//
// It also stands in for the origin of the memory workload: the verifying origin keeps an object in one
// Buffer and hashes it whole, which stops short of 4 GiB, while this server makes objects above
// STREAM_ABOVE on the fly (the same bytes as objectBytes) with a constant ETag and Last-Modified, and
// answers as S3 does to a single byte range, and to If-None-Match and If-Match on that ETag: a fresh Kura
// revalidates before its first hit, and fetches the cells a fill skipped (the disk behind) as ranges.
//
//   node dist/bench/ceiling-server.js '[{"key":…,"size":…}, …]' [workers]   prints the port it listens on
//
// With workers > 1 it runs that many processes sharing the port through node:cluster, handing connections
// out in turn, as `kura serve` does with its workers (src/server/worker-group.ts): what a node:http server
// of that many processes reaches on this machine, the bound of Kura's figures with as many workers.

import cluster from 'node:cluster';
import { createCipheriv, createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUCKET, MiB, type ObjectSpec, objectBytes } from './data.js';

const STREAM_ABOVE = 512 * MiB;
const LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1)).toUTCString();

const specs = JSON.parse(process.argv[2] ?? '[]') as ObjectSpec[];
const workers = Number(process.argv[3] ?? 1);
const objects = new Map(
  specs.map((s) => [
    `/${BUCKET}/${s.key}`,
    {
      spec: s,
      etag: `"${createHash('md5').update(`${s.key}:${s.size}`).digest('hex')}"`,
      body: s.size > STREAM_ABOVE ? undefined : objectBytes(s.key, s.size),
    },
  ]),
);

/**
 * Bytes `start..end` (inclusive) of objectBytes(key, size), made and written 1 MiB at a time as the
 * socket drains. AES-CTR's counter is a 16-byte big-endian block number, so any offset can be started at.
 */
function stream(res: ServerResponse, spec: ObjectSpec, start: number, end: number): void {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(start / 16)), 8);
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(spec.key).digest(), iv);
  cipher.update(Buffer.alloc(start % 16));
  const zeros = Buffer.alloc(MiB);
  let at = start;
  const more = (): void => {
    while (at <= end && !res.destroyed) {
      const n = Math.min(MiB, end + 1 - at);
      at += n;
      if (!res.write(cipher.update(zeros.subarray(0, n)))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `size`, or null (the whole object). */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | null {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') return { start: Math.max(0, size - Number(m[2])), end: size - 1 };
  const start = Number(m[1]);
  return { start, end: m[2] === '' ? size - 1 : Math.min(size - 1, Number(m[2])) };
}

function serve(): void {
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const object = objects.get(q < 0 ? url : url.slice(0, q));
    if (!object) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    // A revalidation of the unchanged object, as S3 answers it: Kura's warm reads in a fresh process ask.
    const inm = req.headers['if-none-match'];
    if (inm?.split(',').some((t) => t.trim() === object.etag || t.trim() === '*')) {
      res.writeHead(304, { etag: object.etag, 'last-modified': LAST_MODIFIED }).end();
      return;
    }
    const im = req.headers['if-match'];
    if (im !== undefined && !im.split(',').some((t) => t.trim() === object.etag || t.trim() === '*')) {
      res.writeHead(412, { 'content-length': 0 }).end();
      return;
    }
    const { size } = object.spec;
    const range = byteRange(req.headers.range, size);
    if (range && range.start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    res.writeHead(range ? 206 : 200, {
      'content-length': end + 1 - start,
      'content-type': 'binary/octet-stream',
      etag: object.etag,
      'last-modified': LAST_MODIFIED,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') res.end();
    else if (object.body) res.end(range ? object.body.subarray(start, end + 1) : object.body);
    else stream(res, object.spec, start, end);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    if (cluster.isWorker) process.send?.(port);
    else console.log(port);
  });
  process.on('SIGTERM', () => process.exit(0));
}
if (cluster.isPrimary && workers > 1) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  // Workers listening on port 0 share one socket. Its port is told once every worker listens.
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (port: number) => {
      listening += 1;
      if (listening === workers) console.log(port);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  serve();
}
