// `kura warm`, run as the real command: through a gateway route (the listing signed with the route's
// credentials from the config file, the reads through the gateway listener with a bearer token), and in
// the transparent mode with the caller's own AWS credentials. Afterwards every object is a cache hit.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { gatewayRequest, sha256Hex } from '../support/gateway.js';
import { KURA_BIN, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const TOKEN = 'warm-token';

let origin: MemoryOrigin;
let kura: TestKura;
let port: number;
let dir: string;
let configFile: string;

before(async () => {
  origin = await startMemoryOrigin();
  const route = {
    prefix: '/pub/',
    origin: { url: origin.url },
    bucket: BUCKET,
    key_prefix: 'site/',
    credentials: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
    auth: { kind: 'bearer', token_sha256: [sha256Hex(TOKEN)] },
  };
  kura = await startTestKura({
    workers: 1,
    origin: origin.url,
    settings: { 'gateway.listen': ['127.0.0.1:0'], 'gateway.routes': [route] },
  });
  port = kura.gatewayPorts[0] as number;
  dir = mkdtempSync(join(tmpdir(), 'kura-warm-'));
  configFile = join(dir, 'kura.yaml');
  writeFileSync(configFile, stringify({ gateway: { routes: [route] } }));
});
after(async () => {
  await kura?.close();
  await origin?.close();
  rmSync(dir, { recursive: true, force: true });
});

function warm(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [KURA_BIN, 'warm', ...args],
      { timeout: 60_000, env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('through a gateway route: every object under the prefix is read once, then served as a hit', async () => {
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < 7; i++) {
    const key = `photos/${i} ${i % 2 ? 'odd' : 'even'}.bin`;
    bodies.set(key, randomBytes(10_000 + i));
    origin.put(BUCKET, `site/${key}`, bodies.get(key) as Buffer);
  }
  origin.put(BUCKET, 'site/other/x.bin', randomBytes(10));
  const url = `http://127.0.0.1:${port}/pub/photos/`;
  const refused = await warm([url, '-c', configFile]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /warmed 0 of 7 objects.*; 7 failed/);
  assert.match(refused.stdout, /HTTP 401/);
  const r = await warm([
    url,
    '-c',
    configFile,
    '--concurrency',
    '3',
    '--header',
    `Authorization: Bearer ${TOKEN}`,
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^warmed 7 of 7 objects, /);
  const from = origin.requests.length;
  for (const [key, body] of bodies) {
    const path = `/pub/${key.split('/').map(encodeURIComponent).join('/')}`;
    const res = await gatewayRequest(port, path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.headers['x-cache'], 'HIT', key);
    assert.ok(res.body.equals(body));
  }
  assert.equal(origin.requests.length, from);
});

test("in the transparent mode with the caller's credentials; a bad target is a usage error", async () => {
  const body = randomBytes(20_000);
  origin.put(BUCKET, 'tables/a.bin', body);
  origin.put(BUCKET, 'tables/b.bin', body);
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const r = await warm([`s3://${BUCKET}/tables/`, '--endpoint', kura.url], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^warmed 2 of 2 objects/);
  const read = await sdkGet(sdkClient(kura.url), BUCKET, 'tables/a.bin');
  assert.equal(read.xCache, 'HIT');
  assert.ok(read.body.equals(body));
  const usage = await warm([`s3://${BUCKET}/tables/`], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /needs --endpoint/);
  const noRoute = await warm([`http://127.0.0.1:${port}/nowhere/`, '-c', configFile]);
  assert.equal(noRoute.code, 2);
  assert.match(noRoute.stderr, /no gateway route/);
});
