// Overrides may point at an https:// origin. Certificates are verified unless the operator turns that
// off for that origin, which Kura then warns about at every start.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { startKura } from '../../src/server/kura.js';
import type { Logger } from '../../src/telemetry/log.js';
import { startTestKura } from '../support/kura.js';
import { rawExchange } from '../support/raw-http.js';
import { errorCode } from '../support/signing.js';
import { makeTestCert } from '../support/tls-cert.js';

let origin: Server;
let originUrl: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kura-tls-'));
  // A self-signed certificate that no trust store knows.
  const cert = makeTestCert(dir, 'origin', ['IP:127.0.0.1']);
  origin = createServer({ key: cert.key, cert: cert.cert }, (req, res) =>
    res.writeHead(200, { 'x-seen-host': req.headers.host ?? '' }).end(`tls ${req.method} ${req.url}`),
  );
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `https://127.0.0.1:${(origin.address() as { port: number }).port}`;
});
after(() => {
  origin.closeAllConnections();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = 'GET /b/k?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

test('an https origin with an untrusted certificate is refused with 502', async () => {
  const kura = await startTestKura({ origin: originUrl });
  try {
    const res = await rawExchange(kura.port, request);
    assert.equal(res?.status, 502);
    assert.equal(errorCode(res?.body ?? ''), 'BadGateway');
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
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /TLS certificates of https:\/\/127\.0\.0\.1:\d+ are NOT verified/);
  } finally {
    await kura.close(1_000);
  }
});
