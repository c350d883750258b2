// The ceiling: the least a Node.js HTTP server can do to serve the benchmark's objects from memory (no
// signature check, no routing, no headers to speak of). What no Node server on this machine can beat;
// Kura's warm figures are read against it.
//
// It also stands in for the origin of the memory workload: the verifying origin keeps an object in one
// Buffer and hashes it whole, which stops short of 4 GiB, while this server makes objects above
// STREAM_ABOVE on the fly (the same bytes as objectBytes) with a constant ETag and Last-Modified.
//
//   node dist/bench/ceiling-server.js '[{"key":…,"size":…}, …]'   prints the port it listens on

import { createCipheriv, createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUCKET, MiB, type ObjectSpec, objectBytes } from './data.js';

const STREAM_ABOVE = 512 * MiB;
const LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1)).toUTCString();

const specs = JSON.parse(process.argv[2] ?? '[]') as ObjectSpec[];
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

/** objectBytes(key, size), made and written 1 MiB at a time as the socket drains. */
function stream(res: ServerResponse, spec: ObjectSpec): void {
  const cipher = createCipheriv(
    'aes-256-ctr',
    createHash('sha256').update(spec.key).digest(),
    Buffer.alloc(16),
  );
  const zeros = Buffer.alloc(MiB);
  let sent = 0;
  const more = (): void => {
    while (sent < spec.size && !res.destroyed) {
      const n = Math.min(MiB, spec.size - sent);
      sent += n;
      if (!res.write(cipher.update(zeros.subarray(0, n)))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const object = objects.get(q < 0 ? url : url.slice(0, q));
  if (!object) {
    res.writeHead(404, { 'content-length': 0 }).end();
    return;
  }
  res.writeHead(200, {
    'content-length': object.spec.size,
    'content-type': 'binary/octet-stream',
    etag: object.etag,
    'last-modified': LAST_MODIFIED,
  });
  if (req.method === 'HEAD') res.end();
  else if (object.body) res.end(object.body);
  else stream(res, object.spec);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
process.on('SIGTERM', () => process.exit(0));
