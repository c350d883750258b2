// Gateway client authentication against the verifying in-memory origin: the gateway signs with a user
// the origin knows (only that user may read the bucket), and clients hold no AWS credentials at all.
// Each kind of auth is tried valid, expired, for the wrong audience or prefix, tampered and missing.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { importPKCS8, SignJWT } from 'jose';
import { LINK_SIGNATURE, signLink } from '../../src/gateway/link.js';
import { gatewayRequest, keyPair, sha256Hex } from '../support/gateway.js';
import { KURA_BIN, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const USER = { accessKeyId: 'GATEWAY', secretAccessKey: 'gateway-secret', buckets: [BUCKET] };
const HS_SECRET = 'a-shared-secret-of-at-least-32-characters';
const TOKEN = 'bearer-token-for-tests';
const rsa = keyPair('rsa');
const ec = keyPair('ec');
const ed = keyPair('ed25519');
const linkKeys = keyPair('ed25519');

let origin: MemoryOrigin;
let kura: TestKura;
let jwks: http.Server;
let port: number;
/** Keys the JWKS server adds later, as an identity provider rotating its keys does. */
const rotated: object[] = [];
const body = randomBytes(40_000);

before(async () => {
  origin = await startMemoryOrigin({ users: [USER] });
  origin.put(BUCKET, 'docs/a.bin', body);
  origin.put(BUCKET, 'private/b.bin', body);
  origin.put(BUCKET, 'docs/my (1).bin', body);
  const jwkEc = { ...createPublicKey(ec.publicKey).export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256' };
  const jwkEd = { ...createPublicKey(ed.publicKey).export({ format: 'jwk' }), kid: 'ed-1', alg: 'EdDSA' };
  jwks = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwkEc, jwkEd, ...rotated] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  const common = {
    origin: { url: origin.url },
    bucket: BUCKET,
    credentials: { access_key_id: USER.accessKeyId, secret_access_key: USER.secretAccessKey },
  };
  kura = await startTestKura({
    workers: 1,
    settings: {
      'gateway.listen': ['127.0.0.1:0'],
      'gateway.routes': [
        { ...common, prefix: '/open/', auth: 'none' },
        { ...common, prefix: '/bearer/', auth: { kind: 'bearer', token_sha256: [sha256Hex(TOKEN)] } },
        {
          ...common,
          prefix: '/hs/',
          auth: {
            kind: 'jwt',
            secret: HS_SECRET,
            issuer: 'https://issuer.test',
            audience: 'kura',
            prefixes_claim: 'prefixes',
          },
        },
        {
          ...common,
          prefix: '/rs/',
          auth: { kind: 'jwt', public_key: rsa.publicKey, algorithms: ['RS256'] },
        },
        { ...common, prefix: '/jwks/', auth: { kind: 'jwt', jwks_url: jwksUrl, audience: 'kura' } },
        { ...common, prefix: '/rotating/', auth: { kind: 'jwt', jwks_url: jwksUrl, jwks_cache: '1s' } },
        { ...common, prefix: '/link/', auth: { kind: 'link', public_keys: [linkKeys.publicKey] } },
      ],
    },
  });
  port = kura.gatewayPorts[0] as number;
});
after(async () => {
  await kura?.close();
  await origin?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

const now = () => Math.floor(Date.now() / 1000);

function hsToken(claims: Record<string, unknown>, opts: { exp?: number; aud?: string; iss?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(opts.iss ?? 'https://issuer.test')
    .setAudience(opts.aud ?? 'kura')
    .setExpirationTime(opts.exp ?? now() + 300)
    .sign(new TextEncoder().encode(HS_SECRET));
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

describe('none', () => {
  test('a public route serves the object, byte for byte, signed upstream by Kura', async () => {
    const from = origin.requests.length;
    const res = await gatewayRequest(port, '/open/docs/a.bin');
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(body));
    const upstream = origin.requests.slice(from);
    assert.ok(upstream.length > 0);
    assert.ok(upstream.every((r) => r.verdict === 'ok'));
    const auth = upstream[0]?.rawHeaders.find((_, i, a) => a[i - 1]?.toLowerCase() === 'authorization');
    assert.match(auth ?? '', /Credential=GATEWAY\//);
  });
});

describe('bearer', () => {
  test('the right token reads; a wrong or missing one gets 401 with a challenge', async () => {
    assert.equal((await gatewayRequest(port, '/bearer/docs/a.bin', { headers: bearer(TOKEN) })).status, 200);
    const wrong = await gatewayRequest(port, '/bearer/docs/a.bin', { headers: bearer(`${TOKEN}x`) });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /invalid_token/);
    assert.match(wrong.body.toString(), /<Code>Unauthorized<\/Code>/);
    const missing = await gatewayRequest(port, '/bearer/docs/a.bin');
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
  });
});

describe('jwt', () => {
  test('HS256: valid reads; expired, wrong audience, wrong issuer and bad signature get 401', async () => {
    const ok = await gatewayRequest(port, '/hs/docs/a.bin', {
      headers: bearer(await hsToken({ prefixes: ['docs/'] })),
    });
    assert.equal(ok.status, 200);
    assert.ok(ok.body.equals(body));
    const expired = await hsToken({ prefixes: ['docs/'] }, { exp: now() - 60 });
    const expiredRes = await gatewayRequest(port, '/hs/docs/a.bin', {
      headers: { ...bearer(expired), accept: 'application/json' },
    });
    assert.equal(expiredRes.status, 401);
    assert.deepEqual(JSON.parse(expiredRes.body.toString()).error.message, 'The token has expired');
    const audience = await hsToken({ prefixes: ['docs/'] }, { aud: 'someone-else' });
    const audienceRes = await gatewayRequest(port, '/hs/docs/a.bin', { headers: bearer(audience) });
    assert.equal(audienceRes.status, 401);
    assert.match(audienceRes.body.toString(), /aud claim/);
    const issuer = await hsToken({ prefixes: ['docs/'] }, { iss: 'https://evil.test' });
    assert.equal((await gatewayRequest(port, '/hs/docs/a.bin', { headers: bearer(issuer) })).status, 401);
    const good = await hsToken({ prefixes: ['docs/'] });
    const tampered = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    assert.equal((await gatewayRequest(port, '/hs/docs/a.bin', { headers: bearer(tampered) })).status, 401);
  });

  test('HS256: a key outside the prefixes claim gets 403; no claim at all gets 403', async () => {
    const token = await hsToken({ prefixes: ['docs/'] });
    const res = await gatewayRequest(port, '/hs/private/b.bin', {
      headers: { ...bearer(token), accept: 'text/plain' },
    });
    assert.equal(res.status, 403);
    assert.match(res.body.toString(), /^403 AccessDenied: /);
    const none = await gatewayRequest(port, '/hs/docs/a.bin', { headers: bearer(await hsToken({})) });
    assert.equal(none.status, 403);
  });

  test('RS256 with a PEM key: valid reads; one signed by another key gets 401', async () => {
    const sign = async (pem: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setExpirationTime(now() + 60)
        .sign(await importPKCS8(pem, 'RS256'));
    assert.equal(
      (await gatewayRequest(port, '/rs/docs/a.bin', { headers: bearer(await sign(rsa.privateKey)) })).status,
      200,
    );
    const other = keyPair('rsa');
    assert.equal(
      (await gatewayRequest(port, '/rs/docs/a.bin', { headers: bearer(await sign(other.privateKey)) }))
        .status,
      401,
    );
  });

  test('JWKS: ES256 and EdDSA tokens by kid read; a wrong audience gets 401', async () => {
    const sign = async (alg: 'ES256' | 'EdDSA', kid: string, pem: string, aud: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setAudience(aud)
        .setExpirationTime(now() + 60)
        .sign(await importPKCS8(pem, alg));
    const es = await sign('ES256', 'ec-1', ec.privateKey, 'kura');
    assert.equal((await gatewayRequest(port, '/jwks/docs/a.bin', { headers: bearer(es) })).status, 200);
    const eddsa = await sign('EdDSA', 'ed-1', ed.privateKey, 'kura');
    assert.equal((await gatewayRequest(port, '/jwks/docs/a.bin', { headers: bearer(eddsa) })).status, 200);
    const wrongAud = await sign('ES256', 'ec-1', ec.privateKey, 'other');
    assert.equal((await gatewayRequest(port, '/jwks/docs/a.bin', { headers: bearer(wrongAud) })).status, 401);
  });
});

describe('jwks rotation', () => {
  test('a token signed by a key the set did not hold is refused, then accepted once the set has it', async () => {
    const fresh = keyPair('ed25519');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'ed-2' })
      .setExpirationTime(now() + 60)
      .sign(await importPKCS8(fresh.privateKey, 'EdDSA'));
    const before = await gatewayRequest(port, '/rotating/docs/a.bin', { headers: bearer(token) });
    assert.equal(before.status, 401);
    rotated.push({
      ...createPublicKey(fresh.publicKey).export({ format: 'jwk' }),
      kid: 'ed-2',
      alg: 'EdDSA',
    });
    // The set is fetched again for an unknown kid once its cooldown (jwks_cache: 1s here) has passed.
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i += 1) {
      await sleep(100);
      status = (await gatewayRequest(port, '/rotating/docs/a.bin', { headers: bearer(token) })).status;
    }
    assert.equal(status, 200);
  });
});

describe('signed links', () => {
  const path = '/link/docs/a.bin';

  test('a link signed for GET and this path reads, and HEAD too', async () => {
    const query = signLink(linkKeys.privateKey, 'GET', path, now() + 60);
    const res = await gatewayRequest(port, `${path}?${query}`);
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(body));
    assert.equal((await gatewayRequest(port, `${path}?${query}`, { method: 'HEAD' })).status, 200);
  });

  test('expired, tampered, for another path, by another key, or missing: 403', async () => {
    const expired = signLink(linkKeys.privateKey, 'GET', path, now() - 1);
    const res = await gatewayRequest(port, `${path}?${expired}`);
    assert.equal(res.status, 403);
    assert.match(res.body.toString(), /expired/);
    const good = signLink(linkKeys.privateKey, 'GET', path, now() + 60);
    const later = good.replace(/kura-expires=(\d+)/, (_, n: string) => `kura-expires=${Number(n) + 3600}`);
    assert.equal((await gatewayRequest(port, `${path}?${later}`)).status, 403);
    const sig = new URLSearchParams(good).get(LINK_SIGNATURE) as string;
    const flipped = good.replace(sig, `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`);
    assert.equal((await gatewayRequest(port, `${path}?${flipped}`)).status, 403);
    assert.equal((await gatewayRequest(port, `/link/private/b.bin?${good}`)).status, 403);
    const other = signLink(keyPair('ed25519').privateKey, 'GET', path, now() + 60);
    assert.equal((await gatewayRequest(port, `${path}?${other}`)).status, 403);
    assert.equal((await gatewayRequest(port, path)).status, 403);
  });

  test('a link for GET does not allow a method the route refuses, nor does PUT on a read-only route', async () => {
    const put = signLink(linkKeys.privateKey, 'PUT', path, now() + 60);
    const res = await gatewayRequest(port, `${path}?${put}`, { method: 'PUT', body: Buffer.from('x') });
    assert.equal(res.status, 405);
  });
});

describe('kura sign', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [KURA_BIN, 'sign', ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  test('makes a link the route accepts, for a key with a space and parentheses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kura-sign-'));
    try {
      const keyFile = join(dir, 'link.pem');
      writeFileSync(keyFile, linkKeys.privateKey);
      const base = `http://127.0.0.1:${port}`;
      const made = await run([
        '/link/docs/my (1).bin',
        '--key',
        keyFile,
        '--expires',
        '5m',
        '--base-url',
        base,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const url = new URL(made.stdout.trim());
      assert.equal(url.pathname, '/link/docs/my%20%281%29.bin');
      const res = await gatewayRequest(port, `${url.pathname}${url.search}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(body));
      // A browser leaves the parentheses unencoded: the same link still verifies.
      const browser = await gatewayRequest(port, `/link/docs/my%20(1).bin${url.search}`);
      assert.equal(browser.status, 200);
      const wrongKey = join(dir, 'rsa.pem');
      writeFileSync(wrongKey, rsa.privateKey);
      const refused = await run(['/link/docs/a.bin', '--key', wrongKey]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /not an Ed25519 private key/);
      const badExpiry = await run(['/link/docs/a.bin', '--key', keyFile, '--expires', 'soon']);
      assert.equal(badExpiry.code, 2);
      assert.match(badExpiry.stderr, /--expires soon is not a duration/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
