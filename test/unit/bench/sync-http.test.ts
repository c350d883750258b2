// The synchronous XMLHttpRequest the DuckDB case runs on (bench/sync-http.ts), against a real server: a
// blocking GET returns status, headers and body bytes; `=` in the path goes out as %3D (as DuckDB signs
// it) and nowhere else; a refused connection is an error, not a hang.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SyncHttp } from '../../../bench/sync-http.js';

// The server runs on a thread of its own: this one blocks while it waits for each answer. It answers the
// request line and Range it saw in a header.
const SERVER = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = createServer((req, res) => {
  const seen = JSON.stringify({ url: req.url, range: req.headers.range });
  res.writeHead(206, { 'content-length': 4, 'x-seen': seen }).end(Buffer.from([1, 2, 3, 4]));
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => process.exit(0)));
`;

interface Xhr {
  open(method: string, url: string, async?: boolean): void;
  setRequestHeader(name: string, value: string): void;
  send(body?: null): void;
  getResponseHeader(name: string): string | null;
  status: number;
  response: unknown;
  responseText: string;
  responseType: string;
}

describe('synchronous XMLHttpRequest', () => {
  const server = new Worker(SERVER, { eval: true });
  const http = new SyncHttp(5_000);
  const Xhr = SyncHttp.xhrClass(http) as new () => Xhr;
  let base = '';

  before(async () => {
    const [port] = (await once(server, 'message')) as [number];
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await http.close();
    server.postMessage('stop');
    await once(server, 'exit');
  });

  test('a blocking GET answers status, headers and the body as an ArrayBuffer', () => {
    const xhr = new Xhr();
    xhr.open('GET', `${base}/b/day=1/part.parquet?x=a=b`, false);
    xhr.setRequestHeader('Range', 'bytes=0-3');
    xhr.responseType = 'arraybuffer';
    xhr.send(null);
    assert.equal(xhr.status, 206);
    assert.deepEqual([...new Uint8Array(xhr.response as ArrayBuffer)], [1, 2, 3, 4]);
    assert.deepEqual(JSON.parse(xhr.getResponseHeader('X-Seen') ?? '{}'), {
      url: '/b/day%3D1/part.parquet?x=a=b',
      range: 'bytes=0-3',
    });
  });

  test('a connection refused is thrown by a synchronous send', () => {
    const xhr = new Xhr();
    xhr.open('GET', 'http://127.0.0.1:1/nothing', false);
    assert.throws(() => xhr.send(null), /fetch failed/);
  });
});
