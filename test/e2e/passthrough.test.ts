// The :443 passthrough against a local TLS "S3" that only the test client trusts: the session is end to
// end (the client sees the origin's own certificate; Kura has no key), the bytes are exact, a ClientHello
// that trickles in one byte per segment still works, and everything that must be refused is closed
// without a connection to any upstream and counted.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { startTestDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { makeTestCert, type TestCert } from '../support/tls-cert.js';

const NAME = 's3.kura.test';
const BODY = randomBytes(3 * 2 ** 20 + 11);

let dir: string;
let originCert: TestCert;
let origin: https.Server;
let originConnections = 0;
let dns: TestDnsServer;
let kura: TestKura;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kura-passthrough-'));
  originCert = makeTestCert(dir, 'origin', [NAME]);
  origin = https.createServer({ cert: originCert.cert, key: originCert.key }, (req, res) => {
    if (req.url === '/bucket/object') res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    else res.writeHead(404).end();
  });
  origin.on('connection', () => originConnections++);
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  // An allowed name whose DNS answer points inward.
  dns = await startTestDnsServer({ 'inward.kura.test': { A: ['127.0.0.1'], ttl: 60 } });
  kura = await startTestKura({
    settings: {
      'server.https_port': await freePort(),
      'admin.port': await freePort(),
      'upstream.allow': ['*.amazonaws.com', 'inward.kura.test'],
      [`upstream.overrides.${NAME}`]: `https://127.0.0.1:${(origin.address() as net.AddressInfo).port}`,
      'upstream.dns_servers': [dns.server],
    },
  });
  port = kura.httpsPort as number;
});

after(async () => {
  await kura.close();
  await dns.close();
  origin.closeAllConnections();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
});

/** GET over a TLS session to `NAME` through the passthrough; `socket` replaces the plain connection. */
async function getThrough(socket?: Duplex): Promise<{ body: Buffer; fingerprint: string }> {
  const conn = tls.connect({
    ...(socket ? { socket } : { host: '127.0.0.1', port }),
    servername: NAME,
    ca: originCert.cert,
  });
  await once(conn, 'secureConnect');
  const fingerprint = conn.getPeerX509Certificate()?.fingerprint256 ?? '';
  conn.write(`GET /bucket/object HTTP/1.1\r\nHost: ${NAME}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of conn) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const split = raw.indexOf('\r\n\r\n');
  assert.match(raw.subarray(0, split).toString('latin1'), /^HTTP\/1\.1 200 /);
  return { body: raw.subarray(split + 4), fingerprint };
}

test('a TLS session through the passthrough is end to end and the bytes are exact', async () => {
  const before = originConnections;
  const { body, fingerprint } = await getThrough();
  assert.ok(body.equals(BODY), 'bytes exact');
  assert.equal(fingerprint, originCert.fingerprint256, "the client saw the origin's own certificate");
  assert.equal(kura.tlsPort, null, 'Kura has no certificate or key of its own here');
  assert.equal(originConnections, before + 1);
  // Bytes are counted when both sides of the relay have closed.
  for (let i = 0; i < 100 && kura.relays.passthrough?.active !== 0; i++) await sleep(20);
  assert.ok((kura.relays.passthrough?.bytesToClient ?? 0) > BODY.length);
});

/** A plain connection to the passthrough whose first write (the ClientHello) goes one byte per segment. */
function tricklingSocket(): Duplex {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  let first = true;
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, callback) {
      if (!first) return void socket.write(chunk, callback);
      first = false;
      (async () => {
        for (const byte of chunk) {
          socket.write(Buffer.from([byte]));
          await sleep(1);
        }
      })().then(() => callback(), callback);
    },
    final(callback) {
      socket.end(callback);
    },
  });
  socket.on('data', (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (err) => duplex.destroy(err));
  return duplex;
}

test('a ClientHello sent one byte at a time still gets through', async () => {
  const { body, fingerprint } = await getThrough(tricklingSocket());
  assert.ok(body.equals(BODY));
  assert.equal(fingerprint, originCert.fingerprint256);
});

/** Sends `data` on a raw connection and waits for Kura to close it; returns what came back. */
async function refusedExchange(data: Buffer | string): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write(data);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** A TLS handshake through the passthrough that must fail; resolves with the client's error. */
async function refusedHandshake(options: tls.ConnectionOptions): Promise<Error> {
  const conn = tls.connect({ host: '127.0.0.1', port, ca: originCert.cert, ...options });
  const [err] = (await once(conn, 'error')) as [Error];
  conn.destroy();
  return err;
}

const refusals: { name: string; reason: string; attempt: () => Promise<unknown> }[] = [
  {
    name: 'an over-sized ClientHello',
    reason: 'too-large',
    // A handshake record announcing a 20000-byte hello, then bytes that would fill it.
    attempt: () =>
      refusedExchange(Buffer.concat([Buffer.from([22, 3, 1, 0x40, 0, 1, 0, 0x4e, 0x20]), randomBytes(8000)])),
  },
  {
    name: 'plain HTTP on the TLS port',
    reason: 'not-tls',
    attempt: () => refusedExchange(`GET /bucket/object HTTP/1.1\r\nHost: ${NAME}\r\n\r\n`),
  },
  { name: 'a ClientHello without SNI', reason: 'no-sni', attempt: () => refusedHandshake({}) },
  {
    name: 'a name that is not allowed',
    reason: 'not-allowed',
    attempt: () => refusedHandshake({ servername: 'evil.example.com' }),
  },
  {
    name: 'an allowed name whose DNS answer is a loopback address',
    reason: 'private-address',
    attempt: () => refusedHandshake({ servername: 'inward.kura.test' }),
  },
];

for (const r of refusals) {
  test(`${r.name} is closed without relaying and counted as ${r.reason}`, async () => {
    const stats = kura.relays.passthrough;
    assert.ok(stats);
    const before = { origin: originConnections, refused: stats.refused, relayed: stats.relayed };
    const counted = before.refused[r.reason as keyof typeof before.refused];
    const reply = await r.attempt();
    if (Buffer.isBuffer(reply)) assert.equal(reply.length, 0, 'nothing comes back');
    assert.equal(stats.refused[r.reason as keyof typeof stats.refused], counted + 1);
    assert.equal(stats.relayed, before.relayed, 'no relay');
    assert.equal(originConnections, before.origin, 'no connection reached the origin');
  });
}

test('the counters are in the admin /stats answer', async () => {
  const res = await fetch(`http://127.0.0.1:${kura.adminPort}/stats`);
  const stats = (await res.json()) as { passthrough: { relayed: number; refused: Record<string, number> } };
  assert.ok(stats.passthrough.relayed >= 2);
  assert.ok((stats.passthrough.refused['not-tls'] ?? 0) >= 1);
});
