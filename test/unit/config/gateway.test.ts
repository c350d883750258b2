// The `gateway` section: what a valid route becomes, and problems that name the route, the field and
// what is wrong, without quoting a value that may hold credentials.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { tokenDigest } from '../../../src/config/gateway-auth.js';
import { buildConfig, showConfig } from '../../../src/config/load.js';

const base = { prefix: '/m/', origin: 'eu-west-1', bucket: 'media', auth: 'none' };

function problems(gateway: unknown): string[] {
  const r = buildConfig({ gateway }, []);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

function routes(list: unknown[]): string[] {
  return problems({ listen: ['127.0.0.1:9080'], routes: list });
}

describe('gateway config', () => {
  test('off by default; a full route parses with its defaults', () => {
    const off = buildConfig({}, []);
    assert.ok(off.ok);
    assert.deepEqual(off.config.gateway, { listen: [], routes: [] });
    const r = buildConfig({ gateway: { listen: ['127.0.0.1:0', '[::1]:9080'], routes: [base] } }, []);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.config.gateway.listen, [
      { host: '127.0.0.1', port: 0 },
      { host: '::1', port: 9080 },
    ]);
    const route = r.config.gateway.routes[0];
    assert.equal(route?.access, 'read-only');
    assert.deepEqual(route?.credentials, { kind: 'default', profile: null });
    assert.deepEqual(route?.origin, { kind: 'aws', region: 'eu-west-1' });
    assert.equal(route?.keyPrefix, '');
  });

  test('listeners and routes: each problem names the route, the field and what is wrong', () => {
    assert.deepEqual(problems({ listen: ['localhost'] }), [
      'gateway.listen: ["localhost"] has item 0 "localhost" that is not host:port (like 127.0.0.1:9080, or port 0 for any free port)',
    ]);
    assert.deepEqual(routes([{ ...base, prefix: 'm' }]), [
      'gateway.routes: route 0 (m): prefix "m" does not start and end with /',
    ]);
    assert.deepEqual(routes([{ ...base, bucket: 'Bad_Bucket' }]), [
      'gateway.routes: route 0 (/m/): bucket "Bad_Bucket" is not an S3 bucket name',
    ]);
    assert.deepEqual(routes([{ ...base, origin: 'mars-1' }]), [
      'gateway.routes: route 0 (/m/): origin "mars-1" is not an AWS region (like us-east-1)',
    ]);
    assert.deepEqual(routes([{ ...base, origin: { url: 'ftp://x' } }]), [
      'gateway.routes: route 0 (/m/): origin.url "ftp://x" is not an http:// or https:// URL',
    ]);
    assert.deepEqual(routes([{ ...base, access: 'write' }]), [
      'gateway.routes: route 0 (/m/): access "write" is not read-only or read-write',
    ]);
    assert.deepEqual(routes([{ ...base, buckett: 'x' }]), [
      'gateway.routes: route 0 (/m/): entry has unknown field buckett (allowed: prefix, host, origin, bucket, key_prefix, credentials, access, auth, cors, replicas, breaker)',
    ]);
    assert.deepEqual(routes([base, { ...base }]), [
      'gateway.routes: route 1 (/m/): same prefix and host as route 0',
    ]);
    assert.deepEqual(routes([{ ...base, auth: undefined }]), [
      'gateway.routes: route 0 (/m/): auth is missing (kind: none, bearer, jwt or link)',
    ]);
  });

  test('credentials are never quoted back', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const out = routes([
      { ...base, bucket: 'BAD', credentials: { access_key_id: 'AKIA', secret_access_key: secret } },
    ]);
    assert.equal(out.length, 1);
    assert.ok(!out[0]?.includes(secret));
    assert.deepEqual(routes([{ ...base, credentials: { access_key_id: 'AKIA' } }]), [
      'gateway.routes: route 0 (/m/): credentials.secret_access_key is missing or empty',
    ]);
  });

  test('auth kinds: bearer digests, JWT sources and algorithms, link keys', () => {
    const ok = buildConfig(
      { gateway: { routes: [{ ...base, auth: { kind: 'bearer', token_sha256: [tokenDigest('t')] } }] } },
      [],
    );
    assert.ok(ok.ok);
    assert.deepEqual(routes([{ ...base, auth: { kind: 'bearer', token_sha256: ['plain-token'] } }]), [
      'gateway.routes: route 0 (/m/): auth.token_sha256 item 0 is not a SHA-256 digest (64 hex characters)',
    ]);
    assert.deepEqual(routes([{ ...base, auth: { kind: 'jwt', audience: 'x' } }]), [
      'gateway.routes: route 0 (/m/): auth needs exactly one of secret, public_key or jwks_url',
    ]);
    assert.deepEqual(routes([{ ...base, auth: { kind: 'jwt', secret: 'short' } }]), [
      'gateway.routes: route 0 (/m/): auth.secret is not a string of at least 32 characters',
    ]);
    assert.deepEqual(
      routes([{ ...base, auth: { kind: 'jwt', jwks_url: 'https://idp/jwks', algorithms: ['HS512'] } }]),
      ['gateway.routes: route 0 (/m/): auth.algorithms is not a list of HS256, RS256, ES256, EdDSA'],
    );
    assert.deepEqual(routes([{ ...base, auth: { kind: 'jwt', public_key: '/nonexistent.pem' } }]), [
      'gateway.routes: route 0 (/m/): auth.public_key names /nonexistent.pem, which cannot be read (ENOENT)',
    ]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    assert.deepEqual(routes([{ ...base, auth: { kind: 'link', public_keys: [rsa] } }]), [
      'gateway.routes: route 0 (/m/): auth.public_keys item 0 is not an Ed25519 key',
    ]);
    assert.deepEqual(routes([{ ...base, auth: { kind: 'magic' } }]), [
      'gateway.routes: route 0 (/m/): auth.kind "magic" is not none, bearer, jwt or link',
    ]);
  });

  test('replicas and the breaker', () => {
    const r = buildConfig(
      {
        gateway: {
          routes: [
            { ...base, replicas: ['us-east-1', { url: 'http://10.0.0.5:9000', bucket: 'media-copy' }] },
          ],
        },
      },
      [],
    );
    assert.ok(r.ok, JSON.stringify(r));
    const route = r.config.gateway.routes[0];
    assert.deepEqual(route?.replicas, [
      { origin: { kind: 'aws', region: 'us-east-1' }, bucket: 'media' },
      {
        origin: { kind: 'url', url: 'http://10.0.0.5:9000', region: 'us-east-1', tlsVerify: true },
        bucket: 'media-copy',
      },
    ]);
    assert.deepEqual(route?.breaker, { failures: 3, openMs: 30_000 });
    assert.deepEqual(routes([{ ...base, replicas: [{ url: 'nope' }] }]), [
      'gateway.routes: route 0 (/m/): replicas item 0.url "nope" is not a URL',
    ]);
    assert.deepEqual(routes([{ ...base, breaker: { failures: 0 } }]), [
      'gateway.routes: route 0 (/m/): breaker.failures is not an integer 1-1000',
    ]);
    assert.deepEqual(routes([{ ...base, breaker: { open_for: 'later' } }]), [
      'gateway.routes: route 0 (/m/): breaker.open_for "later" is not a duration',
    ]);
  });

  test('CORS origins must be origins', () => {
    assert.deepEqual(routes([{ ...base, cors: { origins: ['https://a.test/path'] } }]), [
      'gateway.routes: route 0 (/m/): cors.origins has "https://a.test/path", not scheme://host[:port] or *',
    ]);
  });
});

describe('gateway config shown', () => {
  test('kura config check prints routes as written, secrets redacted', () => {
    const route = {
      ...base,
      origin: { url: 'http://127.0.0.1:9000', region: 'us-east-1' },
      credentials: { access_key_id: 'AKIA1', secret_access_key: 'very-secret' },
      auth: { kind: 'jwt', secret: 'x'.repeat(40), audience: 'kura' },
    };
    const r = buildConfig({ gateway: { listen: ['127.0.0.1:9080'], routes: [route] } }, []);
    assert.ok(r.ok);
    const shown = showConfig(r.config) as {
      gateway: { listen: string[]; routes: Record<string, unknown>[] };
    };
    assert.deepEqual(shown.gateway.listen, ['127.0.0.1:9080']);
    const text = JSON.stringify(shown.gateway.routes);
    assert.ok(!text.includes('very-secret'));
    assert.ok(!text.includes('x'.repeat(40)));
    assert.deepEqual(shown.gateway.routes[0]?.credentials, {
      access_key_id: 'AKIA1',
      secret_access_key: '(redacted)',
    });
    assert.deepEqual(shown.gateway.routes[0]?.auth, {
      kind: 'jwt',
      algorithms: ['HS256'],
      secret: '(redacted)',
      audience: 'kura',
    });
  });
});
