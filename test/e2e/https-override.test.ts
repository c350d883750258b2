// Overrides may point at an https:// origin. Certificates are verified unless the operator turns that
// off for that origin, which Kura then warns about at every start.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { startKura } from '../../src/server/kura.js';
import type { Logger } from '../../src/telemetry/log.js';
import { startTestKura } from '../support/kura.js';
import { expectContinue, rawExchange } from '../support/raw-http.js';
import { errorCode } from '../support/signing.js';
import { makeTestCert } from '../support/tls-cert.js';

let origin: Server;
let originUrl: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kura-tls-'));
  // A self-signed certificate that no trust store knows.
  const cert = makeTestCert(dir, 'origin', ['IP:127.0.0.1']);
  origin = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () =>
      res
        .writeHead(200, { 'x-seen-host': req.headers.host ?? '', 'x-body-bytes': String(bodyBytes) })
        .end(`tls ${req.method} ${req.url}`),
    );
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `https://127.0.0.1:${(origin.address() as { port: number }).port}`;
});
after(() => {
  origin.closeAllConnections();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = 'GET /b/k?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

const upload = Buffer.alloc(300_000, 7);
const uploadHead = [
  'PUT /b/upload HTTP/1.1',
  'Host: 127.0.0.1',
  `Content-Length: ${upload.length}`,
  'Expect: 100-continue',
  'Connection: close',
].join('\r\n');

test('an https origin with an untrusted certificate is refused with 502', async () => {
  const kura = await startTestKura({ origin: originUrl });
  try {
    const res = await rawExchange(kura.port, request);
    assert.equal(res?.status, 502);
    assert.equal(errorCode(res?.body ?? ''), 'BadGateway');
    // An upload that waits for 100 Continue hears the 502 instead, and keeps its body.
    const put = await expectContinue(kura.port, `${uploadHead}\r\n\r\n`, upload, 10_000);
    assert.deepEqual(put.interim, []);
    assert.equal(put.response?.status, 502);
    assert.equal(put.bodyBytesSent, 0);
  } finally {
    await kura.close();
  }
});

test('tls_verify: false reaches it, and Kura warns about it at start', async () => {
  const warnings: string[] = [];
  const log: Logger = { error() {}, warn: (m) => warnings.push(m), info() {}, debug() {} };
  const built = buildConfig(
    {
      server: { http_host: '127.0.0.1', http_port: 0, https_port: 0 },
      // No admin listener and a volume of its own: the defaults (:8080, /var/cache/kura) are not the test's.
      admin: { port: 0 },
      cache: { dir: join(dir, 'volume') },
      upstream: { overrides: { '*': { url: originUrl, tls_verify: false } } },
      log: { access: 'off' },
    },
    [],
  );
  assert.ok(built.ok);
  const kura = await startKura(built.config, { log });
  try {
    const res = await rawExchange(kura.http.port, request);
    assert.equal(res?.status, 200);
    assert.match(res?.body ?? '', /tls GET \/b\/k\?x=1/, 'the raw target reached the origin');
    assert.equal(res?.headers['x-seen-host'], '127.0.0.1', 'Host as the client sent it');
    // The expectation goes over TLS too: the origin's 100, then the body.
    const put = await expectContinue(kura.http.port, `${uploadHead}\r\n\r\n`, upload, 10_000);
    assert.deepEqual(put.interim, [100]);
    assert.equal(put.response?.status, 200);
    assert.equal(put.response?.headers['x-body-bytes'], String(upload.length));
    assert.equal(warnings.length, 1, warnings.join(' / '));
    assert.match(warnings[0] as string, /TLS certificates of https:\/\/127\.0\.0\.1:\d+ are NOT verified/);
  } finally {
    await kura.close(1_000);
  }
});

test('an https origin that offers HTTP/2 is still spoken to in HTTP/1.1, as the client spoke', async () => {
  // Kura forwards the client's HTTP/1.1 request as it came (docs/forwarding.md); HTTP/2 would rewrite
  // every header name and the request line. The origin offers h2 first and accepts HTTP/1.1 too.
  const cert = makeTestCert(dir, 'h2-origin', ['IP:127.0.0.1']);
  const h2 = createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: true }, (req, res) => {
    res.writeHead(200, {
      'x-seen-version': req.httpVersion,
      'x-seen-header-names': req.rawHeaders.join(','),
    });
    res.end('ok');
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(h2.address() as { port: number }).port}`;
  const built = buildConfig(
    {
      server: { http_host: '127.0.0.1', http_port: 0, https_port: 0 },
      upstream: { overrides: { '*': { url, tls_verify: false } } },
      log: { access: 'off' },
    },
    [],
  );
  assert.ok(built.ok);
  const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} };
  const kura = await startKura(built.config, { log: quiet });
  try {
    const res = await rawExchange(
      kura.http.port,
      'GET /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Date: 20261202T000000Z\r\nConnection: close\r\n\r\n',
    );
    assert.equal(res?.status, 200);
    assert.equal(res?.headers['x-seen-version'], '1.1');
    // Header names keep the client's case, which HTTP/2 would have lowered.
    assert.match(res?.headers['x-seen-header-names'] ?? '', /(^|,)X-Amz-Date,20261202T000000Z(,|$)/);
  } finally {
    await kura.close(1_000);
    h2.close();
  }
});
