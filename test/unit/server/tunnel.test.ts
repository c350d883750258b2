// The relay against real loopback sockets: dialing falls through to the next address, the bytes read
// before dialing go first, half-close is passed on in both directions, and the counters add up.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { dialFirst, relay, TunnelStats } from '../../../src/server/tunnel.js';

let echoPort: number;
let echo: net.Server;
const closers: (() => void)[] = [];

before(async () => {
  // Reads everything until the client's FIN, then answers with what it got, reversed, and ends.
  echo = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => socket.end(Buffer.concat(chunks).reverse()));
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
});
after(() => {
  for (const close of closers) close();
  echo.close();
});

/** A connected pair of sockets: `client` is the test's end, `proxied` Kura's accepted end. */
async function socketPair(): Promise<{ client: net.Socket; proxied: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    allowHalfOpen: true,
  });
  const [proxied] = await accepted;
  await once(client, 'connect');
  return { client, proxied };
}

test('dialFirst tries the next address when one refuses', async () => {
  const { client } = await socketPair();
  // Nothing listens on 127.0.0.2 at that port: refused at once.
  const socket = await dialFirst({
    addresses: ['127.0.0.2', '127.0.0.1'],
    port: echoPort,
    timeoutMs: 1_000,
    client,
  });
  assert.equal(socket.remoteAddress, '127.0.0.1');
  socket.destroy();
  client.destroy();
});

test('dialFirst fails with the last error when no address answers', async () => {
  const { client } = await socketPair();
  await assert.rejects(
    dialFirst({ addresses: ['127.0.0.2', '127.0.0.3'], port: echoPort, timeoutMs: 1_000, client }),
    {
      code: 'ECONNREFUSED',
    },
  );
  client.destroy();
});

test('relay sends the head first, passes the client FIN on, and still delivers the answer after it', async () => {
  const { client, proxied } = await socketPair();
  const upstream = await dialFirst({
    addresses: ['127.0.0.1'],
    port: echoPort,
    timeoutMs: 1_000,
    client: proxied,
  });
  const stats = new TunnelStats();
  const relayed = relay(proxied, upstream, { head: Buffer.from('ab'), idleTimeoutMs: 5_000, stats });
  client.end('cd');
  const chunks: Buffer[] = [];
  for await (const c of client) chunks.push(c as Buffer);
  assert.equal(
    Buffer.concat(chunks).toString(),
    'dcba',
    'the echo saw head + data, and answered after the FIN',
  );
  await relayed;
  assert.deepEqual(
    { relayed: stats.relayed, active: stats.active, up: stats.bytesToUpstream, down: stats.bytesToClient },
    { relayed: 1, active: 0, up: 4, down: 4 },
  );
});

test('an idle relay is cut on both sides', async () => {
  const { client, proxied } = await socketPair();
  const upstream = await dialFirst({
    addresses: ['127.0.0.1'],
    port: echoPort,
    timeoutMs: 1_000,
    client: proxied,
  });
  client.on('error', () => {});
  const started = Date.now();
  await relay(proxied, upstream, { head: Buffer.alloc(0), idleTimeoutMs: 200, stats: new TunnelStats() });
  assert.ok(Date.now() - started >= 150);
  assert.ok(upstream.destroyed && proxied.destroyed);
  client.destroy();
});

test('a client that resets takes the upstream down', async () => {
  const { client, proxied } = await socketPair();
  const upstream = await dialFirst({
    addresses: ['127.0.0.1'],
    port: echoPort,
    timeoutMs: 1_000,
    client: proxied,
  });
  const relayed = relay(proxied, upstream, {
    head: Buffer.alloc(0),
    idleTimeoutMs: 60_000,
    stats: new TunnelStats(),
  });
  client.resetAndDestroy();
  await relayed;
  assert.ok(upstream.destroyed);
});
