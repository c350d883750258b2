// The TLS listener: the AWS CLI with `HTTP_PROXY=https://…` (an encrypted hop to Kura, an `http://`
// endpoint behind it) gets cached answers, and CONNECT on the same port is relayed to :443 names only.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { awsCliEnv } from '../support/aws-cli.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { makeTestCert, type TestCert } from '../support/tls-cert.js';

const run = promisify(execFile);
const NAME = 's3.kura.test';
const BODY = randomBytes(2 * 2 ** 20 + 5);
const TLS_BODY = randomBytes(300_000);

let dir: string;
let kuraCert: TestCert;
let tlsOriginCert: TestCert;
let origin: MemoryOrigin;
let tlsOrigin: https.Server;
let kura: TestKura;
let proxyUrl: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kura-tls-listener-'));
  kuraCert = makeTestCert(dir, 'kura', ['IP:127.0.0.1', 'localhost']);
  tlsOriginCert = makeTestCert(dir, 'origin', [NAME]);
  origin = await startMemoryOrigin();
  origin.put('kura-test', 'cached/object.bin', BODY);
  // A TLS "S3" for CONNECT tunnels: only the test client trusts its certificate.
  tlsOrigin = https.createServer({ cert: tlsOriginCert.cert, key: tlsOriginCert.key }, (_req, res) =>
    res.writeHead(200, { 'content-length': TLS_BODY.length }).end(TLS_BODY),
  );
  await new Promise<void>((r) => tlsOrigin.listen(0, '127.0.0.1', r));
  kura = await startTestKura({
    origin: origin.url,
    settings: {
      'server.tls_port': await freePort(),
      'server.tls.cert': kuraCert.certPath,
      'server.tls.key': kuraCert.keyPath,
      [`upstream.overrides.${NAME}`]: `https://127.0.0.1:${(tlsOrigin.address() as net.AddressInfo).port}`,
    },
  });
  proxyUrl = `https://127.0.0.1:${kura.tlsPort}`;
});

after(async () => {
  await kura.close();
  await origin.close();
  tlsOrigin.closeAllConnections();
  tlsOrigin.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the AWS CLI through HTTP_PROXY=https://kura gets the second GET from the cache', async () => {
  const env = {
    ...awsCliEnv(dir),
    // The proxy's certificate is trusted through the CA bundle botocore is given.
    AWS_CA_BUNDLE: kuraCert.certPath,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
  };
  const get = async (file: string) => {
    await run(
      'aws',
      [
        '--endpoint-url',
        origin.url,
        's3',
        'cp',
        '--only-show-errors',
        's3://kura-test/cached/object.bin',
        join(dir, file),
      ],
      { env },
    );
    return readFileSync(join(dir, file));
  };
  assert.ok((await get('first.bin')).equals(BODY), 'first download exact');
  const originGets = () =>
    origin.requests.filter((r) => r.method === 'GET' && r.rawUrl.includes('/cached/')).length;
  const gets = originGets();
  const hits = kura.cache.stats.hits;
  assert.ok((await get('second.bin')).equals(BODY), 'second download exact');
  assert.ok(kura.cache.stats.hits > hits, 'the second GET was a cache hit');
  assert.equal(originGets(), gets, 'no new GET reached the origin');
  const logged = kura.access.filter((r) => r.operation === 'GetObject');
  assert.ok(logged.length >= 2);
  assert.ok(
    logged.every((r) => r.path.startsWith(`${origin.url}/`)),
    'absolute-form requests, i.e. proxy requests over the TLS hop',
  );
});

/** Opens a TLS connection to the listener and sends CONNECT; resolves with the status line and socket. */
async function connectVia(target: string): Promise<{ status: string; socket: tls.TLSSocket; rest: Buffer }> {
  const socket = tls.connect({ host: '127.0.0.1', port: kura.tlsPort as number, ca: kuraCert.cert });
  await once(socket, 'secureConnect');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (head.indexOf('\r\n\r\n') === -1) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  socket.pause();
  const end = head.indexOf('\r\n\r\n') + 4;
  return { status: head.subarray(0, head.indexOf('\r\n')).toString(), socket, rest: head.subarray(end) };
}

test('CONNECT to an allowed :443 name is tunnelled end to end', async () => {
  const { status, socket } = await connectVia(`${NAME}:443`);
  assert.equal(status, 'HTTP/1.1 200 Connection Established');
  const inner = tls.connect({ socket, servername: NAME, ca: tlsOriginCert.cert });
  await once(inner, 'secureConnect');
  assert.equal(inner.getPeerX509Certificate()?.fingerprint256, tlsOriginCert.fingerprint256);
  inner.write(`GET / HTTP/1.1\r\nHost: ${NAME}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of inner) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  assert.ok(raw.subarray(raw.indexOf('\r\n\r\n') + 4).equals(TLS_BODY));
  socket.destroy();
  assert.equal(kura.relays.connect?.relayed, 1);
});

test('CONNECT to another port is refused with 403', async () => {
  const { status, socket, rest } = await connectVia(`${NAME}:8443`);
  socket.resume();
  assert.match(status, /^HTTP\/1\.1 403 /);
  const body = rest.toString() + (await readAll(socket));
  assert.match(body, /<Code>AccessDenied<\/Code>/);
  assert.equal(kura.relays.connect?.refused['bad-port'], 1);
});

async function readAll(socket: tls.TLSSocket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  for await (const chunk of socket) text += chunk;
  return text;
}

test('plain HTTP requests over the TLS listener are served like on :80', async () => {
  const socket = tls.connect({ host: '127.0.0.1', port: kura.tlsPort as number, ca: kuraCert.cert });
  await once(socket, 'secureConnect');
  const before = origin.requests.length;
  socket.write('GET /kura-test/never-cached HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  const text = await readAll(socket);
  // Unsigned: the origin refuses it, and Kura passes S3's answer on.
  assert.match(text, /^HTTP\/1\.1 403 /);
  assert.match(text, /<Code>AccessDenied<\/Code>/);
  assert.equal(origin.requests.length, before + 1, 'forwarded to the origin');
});

test('a certificate or key that cannot be read stops Kura at start, naming the field', async () => {
  await assert.rejects(
    startTestKura({
      settings: { 'server.tls.cert': join(dir, 'missing.pem'), 'server.tls.key': kuraCert.keyPath },
    }),
    /server\.tls\.cert: cannot read .*missing\.pem/,
  );
  await assert.rejects(
    startTestKura({ settings: { 'server.tls.cert': kuraCert.certPath } }),
    /server\.tls\.key is not set/,
  );
  await assert.rejects(
    startTestKura({
      settings: { 'server.tls.cert': kuraCert.certPath, 'server.tls.key': kuraCert.certPath },
    }),
    /server\.tls\.cert\/key .* are not a PEM certificate chain and its private key/,
  );
});
