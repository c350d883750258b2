// The ceiling: the least a Node.js HTTP server can do to serve the benchmark's objects from memory (no
// signature check, no routing, no headers to speak of). What no Node server on this machine can beat;
// Kura's warm figures are read against it.
//
//   node dist/bench/ceiling-server.js '[{"key":…,"size":…}, …]'   prints the port it listens on

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BUCKET, type ObjectSpec, objectBytes } from './data.js';

const specs = JSON.parse(process.argv[2] ?? '[]') as ObjectSpec[];
const bodies = new Map(specs.map((s) => [`/${BUCKET}/${s.key}`, objectBytes(s.key, s.size)]));

const server = createServer((req, res) => {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const body = bodies.get(q < 0 ? url : url.slice(0, q));
  if (!body) {
    res.writeHead(404, { 'content-length': 0 }).end();
    return;
  }
  res.writeHead(200, { 'content-length': body.length, 'content-type': 'binary/octet-stream' });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
process.on('SIGTERM', () => process.exit(0));
