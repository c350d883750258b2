// Kura's own HTTP/1.1 reads from plain-HTTP origins, against real servers on loopback: bodies arrive
// byte-exact in buffers that end on the chunk grid, connections are kept alive and reused, every framing
// is read (length, chunked, close), and what is not a whole, well-formed answer is an error.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { UpstreamRequest } from '../../../src/upstream/client.js';
import { PlainHttpPool } from '../../../src/upstream/plain-http.js';

const CELL = 64 * 1024;
const OBJECT = randomBytes(5 * CELL + 777);

function pool(opts: Partial<ConstructorParameters<typeof PlainHttpPool>[0]> = {}) {
  return new PlainHttpPool({
    connectTimeout: 2_000,
    firstByteTimeout: 2_000,
    idleTimeout: 2_000,
    cellSize: CELL,
    ...opts,
  });
}

function get(path: string, method = 'GET', signal: EventEmitter = new EventEmitter()): UpstreamRequest {
  return { method, path, headers: ['Host', 'origin.test', 'x-test', '1'], body: null, signal };
}

async function collect(body: Readable): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return parts;
}

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

describe('PlainHttpPool against node:http', () => {
  let origin: string;
  const connections = new Set<Socket>();
  const seen: { method: string; url: string; headers: string[] }[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.rawHeaders });
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.url === '/chunked') {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.write('<Error><Code>NoSuchKey</Code>');
      setTimeout(() => res.end('</Error>'), 20);
    } else if (req.url === '/not-modified') {
      res.writeHead(304, { etag: '"e"' });
      res.end();
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': OBJECT.length });
      res.write(OBJECT.subarray(0, 100_000), () => res.socket?.destroy());
    } else if (req.url === '/slow-head') {
      setTimeout(() => res.end('late'), 1_000);
    } else if (range) {
      const start = Number(range[1]);
      const end = Number(range[2]);
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${OBJECT.length}`,
      });
      res.end(req.method === 'HEAD' ? undefined : OBJECT.subarray(start, end + 1));
    } else {
      res.writeHead(200, { 'content-length': OBJECT.length, etag: '"e"' });
      res.end(req.method === 'HEAD' ? undefined : OBJECT);
    }
  });
  server.on('connection', (s: Socket) => connections.add(s));

  before(async () => {
    origin = await listen(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a whole object arrives byte-exact, each buffer ending on the chunk grid; the head as sent', async () => {
    const p = pool();
    try {
      const res = await p.request(origin, get('/o'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.slice(0, 2), ['content-length', String(OBJECT.length)]);
      const parts = await collect(res.body);
      assert.ok(Buffer.concat(parts).equals(OBJECT));
      let offset = 0;
      for (const part of parts) {
        // Every part lies inside one cell, and its buffer is that cell's (from the part's cell start).
        assert.equal(Math.floor(offset / CELL), Math.floor((offset + part.length - 1) / CELL));
        assert.equal(part.byteOffset, offset % CELL, 'the buffer starts at the cell start');
        assert.ok(part.buffer.byteLength <= CELL);
        offset += part.length;
      }
      assert.deepEqual(seen.at(-1)?.headers, ['Host', 'origin.test', 'x-test', '1'], 'headers as given');
    } finally {
      p.close();
    }
  });

  test('a range starting mid-cell: the first buffer ends at its cell’s end', async () => {
    const p = pool();
    try {
      const start = CELL + 1000;
      const end = 3 * CELL + 5;
      const res = await p.request(origin, {
        ...get('/o'),
        headers: ['Host', 'o', 'Range', `bytes=${start}-${end}`],
      });
      assert.equal(res.status, 206);
      const parts = await collect(res.body);
      assert.ok(Buffer.concat(parts).equals(OBJECT.subarray(start, end + 1)));
      assert.equal(parts[0]?.buffer.byteLength, CELL - 1000, 'up to the cell’s end');
    } finally {
      p.close();
    }
  });

  test('keep-alive: sequential requests share one connection; HEAD and 304 have no body', async () => {
    const p = pool();
    const before = connections.size;
    try {
      for (let i = 0; i < 3; i++) {
        const res = await p.request(origin, get('/o'));
        assert.equal(Buffer.concat(await collect(res.body)).length, OBJECT.length);
      }
      const head = await p.request(origin, get('/o', 'HEAD'));
      assert.equal(head.status, 200);
      assert.deepEqual(await collect(head.body), []);
      const notModified = await p.request(origin, get('/not-modified'));
      assert.equal(notModified.status, 304);
      assert.deepEqual(await collect(notModified.body), []);
      const again = await p.request(origin, get('/o'));
      assert.equal(Buffer.concat(await collect(again.body)).length, OBJECT.length);
      assert.equal(connections.size - before, 1, 'one connection for all six');
    } finally {
      p.close();
    }
  });

  test('a chunked answer is decoded', async () => {
    const p = pool();
    try {
      const res = await p.request(origin, get('/chunked'));
      assert.equal(res.status, 404);
      assert.equal(
        Buffer.concat(await collect(res.body)).toString(),
        '<Error><Code>NoSuchKey</Code></Error>',
      );
      const next = await p.request(origin, get('/o'));
      assert.equal(Buffer.concat(await collect(next.body)).length, OBJECT.length, 'the connection goes on');
    } finally {
      p.close();
    }
  });

  test('a body cut short is an error, never a short answer', async () => {
    const p = pool();
    try {
      const res = await p.request(origin, get('/cut'));
      await assert.rejects(collect(res.body), /closed/);
    } finally {
      p.close();
    }
  });

  test('the first-byte timeout and the abort signal end the request', async () => {
    const p = pool({ firstByteTimeout: 200 });
    try {
      await assert.rejects(p.request(origin, get('/slow-head')), { name: 'HeadersTimeoutError' });
      const signal = new EventEmitter();
      const asked = p.request(origin, get('/slow-head', 'GET', signal));
      setTimeout(() => signal.emit('abort'), 50);
      await assert.rejects(asked, { name: 'AbortError' });
    } finally {
      p.close();
    }
  });

  test('a body left unread closes its connection; the next request gets a new one', async () => {
    const p = pool();
    const before = connections.size;
    try {
      const res = await p.request(origin, get('/o'));
      res.body.destroy();
      const next = await p.request(origin, get('/o'));
      assert.ok(Buffer.concat(await collect(next.body)).equals(OBJECT));
      assert.equal(connections.size - before, 2);
    } finally {
      p.close();
    }
  });

  test('a refused connection is an error with its code', async () => {
    const p = pool();
    const closed = createTcpServer();
    const url = await listen(closed);
    closed.close();
    await once(closed, 'close');
    await assert.rejects(p.request(url, get('/o')), { code: 'ECONNREFUSED' });
    p.close();
  });
});

describe('PlainHttpPool against raw responses', () => {
  /** A server that answers every request with `answer`'s bytes, then does what `then` says. */
  async function rawOrigin(answer: Buffer, then: 'end' | 'keep' = 'end') {
    const server = createTcpServer((s) => {
      s.once('data', () => {
        s.write(answer);
        if (then === 'end') s.end();
      });
    });
    const url = await listen(server);
    return { url, close: () => server.close() };
  }

  for (const [name, head] of [
    [
      'both Content-Length and chunked framing',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'],
    ['a garbled status line', 'HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\n'],
    ['a header without a name', 'HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 5\r\n\r\n'],
    ['an unknown transfer coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'],
  ] as const) {
    test(`refused: ${name}`, async () => {
      const o = await rawOrigin(Buffer.from(`${head}hello`));
      const p = pool();
      try {
        await assert.rejects(p.request(o.url, get('/')), { code: 'UND_ERR_SOCKET' });
      } finally {
        p.close();
        o.close();
      }
    });
  }

  test('an interim 100 is skipped; a body framed by the close is read to the end', async () => {
    const body = randomBytes(3 * CELL);
    const o = await rawOrigin(
      Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: b\r\n\r\n'), body]),
    );
    const p = pool();
    try {
      const res = await p.request(o.url, get('/'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers, ['X-A', 'b']);
      assert.ok(Buffer.concat(await collect(res.body)).equals(body));
    } finally {
      p.close();
      o.close();
    }
  });

  test('bytes past the answer close the connection instead of becoming the next answer', async () => {
    const o = await rawOrigin(
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n\r\n'),
      'keep',
    );
    const p = pool();
    try {
      const res = await p.request(o.url, get('/'));
      assert.equal(Buffer.concat(await collect(res.body)).toString(), 'hi');
      // The smuggled second answer (no length: empty up to the close) is never a second request's answer.
      const second = await p.request(o.url, get('/'));
      assert.equal(Buffer.concat(await collect(second.body)).toString(), 'hi');
    } finally {
      p.close();
      o.close();
    }
  });
});
