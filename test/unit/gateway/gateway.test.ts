// Pure parts of the gateway: the circuit breaker's states, link signing and checking, key encoding,
// error formats by Accept.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { encodeKeyPath, publicKeysOf, signLink, verifyLink } from '../../../src/gateway/link.js';
import { CircuitBreaker } from '../../../src/gateway/replicas.js';
import { corsHeaders, errorFormat, renderError } from '../../../src/gateway/respond.js';

describe('circuit breaker', () => {
  test('opens after N failures in a row, lets one probe through after the open time, closes on success', () => {
    const b = new CircuitBreaker('http://a', { failures: 2, openMs: 1000 });
    assert.equal(b.allow(0), true);
    b.failed(0);
    assert.equal(b.state, 'closed');
    b.succeeded();
    b.failed(10);
    b.failed(20);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(500), false);
    assert.equal(b.allow(1020), true); // the probe
    assert.equal(b.state, 'half-open');
    assert.equal(b.allow(1021), false); // only one
    b.failed(1030);
    assert.equal(b.state, 'open');
    assert.equal(b.allow(1500), false);
    assert.equal(b.allow(2030), true);
    b.succeeded();
    assert.equal(b.state, 'closed');
    assert.equal(b.allow(2031), true);
    assert.equal(b.opened, 2);
  });
});

describe('signed links', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keys = publicKeysOf([publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
  const q = (s: string) => new URLSearchParams(s);
  const cases: [string, string, string, number, string][] = [
    // method signed, method used, path used, now, verdict
    ['GET', 'GET', '/a/b c', 100, 'ok'],
    ['GET', 'HEAD', '/a/b c', 100, 'ok'],
    ['HEAD', 'GET', '/a/b c', 100, 'bad-signature'],
    ['GET', 'PUT', '/a/b c', 100, 'bad-signature'],
    ['GET', 'GET', '/a/b d', 100, 'bad-signature'],
    ['GET', 'GET', '/a/b c', 200, 'expired'],
  ];
  for (const [signed, used, path, now, verdict] of cases) {
    test(`signed for ${signed}, used with ${used} ${path} at ${now}: ${verdict}`, () => {
      const query = signLink(pem, signed, '/a/b c', 200);
      const v = verifyLink(keys, used, path, q(query), now);
      assert.equal(v.ok ? 'ok' : v.reason, verdict);
    });
  }
  test('missing and malformed parameters', () => {
    assert.deepEqual(verifyLink(keys, 'GET', '/x', q(''), 0), { ok: false, reason: 'missing' });
    assert.deepEqual(verifyLink(keys, 'GET', '/x', q('kura-expires=1e9&kura-signature=x'), 0), {
      ok: false,
      reason: 'malformed',
    });
  });
  test('keys are encoded the way S3 signs them', () => {
    assert.equal(encodeKeyPath("a b/c(1)!*'~.-_/é"), 'a%20b/c%281%29%21%2A%27~.-_/%C3%A9');
  });
});

describe('error formats', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'xml'],
    ['*/*', 'xml'],
    ['application/xml', 'xml'],
    ['application/json, text/plain', 'json'],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 'text'],
    ['image/avif,image/webp,*/*', 'xml'],
  ];
  for (const [accept, format] of cases) {
    test(`Accept ${accept}: ${format}`, () => assert.equal(errorFormat(accept), format));
  }
  test('each format carries the code and message', () => {
    const e = { status: 403, code: 'AccessDenied', message: 'no <way>' };
    assert.match(
      renderError('xml', e, 'R1', '/p').body.toString(),
      /<Code>AccessDenied<\/Code><Message>no &lt;way&gt;<\/Message>/,
    );
    assert.deepEqual(JSON.parse(renderError('json', e, 'R1', '/p').body.toString()), {
      error: { code: 'AccessDenied', message: 'no <way>', requestId: 'R1', resource: '/p' },
    });
    assert.equal(renderError('text', e, 'R1', '/p').body.toString(), '403 AccessDenied: no <way>\n');
  });
});

describe('CORS headers of an answer', () => {
  const req = (origin?: string) => ({ headers: origin === undefined ? {} : { origin } }) as IncomingMessage;
  const any = { origins: ['*'], maxAgeSeconds: 600 };
  const listed = { origins: ['https://app.test'], maxAgeSeconds: 600 };
  const allow = (h: string[]) => h[h.indexOf('access-control-allow-origin') + 1];

  test('a * route: every answer carries the same CORS headers, with or without an Origin (a cached <img> copy serves a fetch)', () => {
    assert.equal(allow(corsHeaders(any, req())), '*');
    assert.equal(allow(corsHeaders(any, req('https://elsewhere.test'))), '*');
    assert.deepEqual(corsHeaders(any, req()), corsHeaders(any, req('https://elsewhere.test')));
  });

  test('listed origins: echoed when listed, and Vary: Origin on every answer', () => {
    const ok = corsHeaders(listed, req('https://app.test'));
    assert.equal(allow(ok), 'https://app.test');
    assert.ok(ok.includes('vary'));
    assert.deepEqual(corsHeaders(listed, req()), ['vary', 'Origin']);
    assert.deepEqual(corsHeaders(listed, req('https://elsewhere.test')), ['vary', 'Origin']);
    assert.deepEqual(corsHeaders(null, req('https://app.test')), []);
  });
});
