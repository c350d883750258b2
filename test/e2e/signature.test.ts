// A client-signed request crosses Kura untouched: a tampered signature gets S3's 403 through Kura exactly
// as it does direct, and a valid request with unusual bytes (percent-encoding case, query order,
// duplicate and odd-case headers, runs of spaces, non-ASCII bytes) reaches the origin byte for byte.
//
// Requests are signed with @smithy/signature-v4 and sent with node:http, so the test controls every byte.
// The Host header is signed and Kura keeps the Host the client sent, so "the same request, direct" is the
// same bytes (Host naming Kura included) sent to the origin's port; the origin's verifier uses the Host
// header as received.
//
// Each tampered request uses a key that Kura has never fetched: a fresh cache entry may be served without
// asking S3 (docs/architecture.md, rule 3), and what is checked here is that Kura forwards what it cannot
// serve without altering it, so S3's verdict is the client's own.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestKura, type TestKura } from '../support/kura.js';
import {
  DEFAULT_BUCKET,
  type OriginRequest,
  originIsRgw,
  startTestOrigin,
  type TestOrigin,
} from '../support/origin.js';
import {
  createS3Signer,
  errorCode,
  type RawResponse,
  type SignedRequest,
  s3Path,
  sendRaw,
  sha256Hex,
  signRequest,
} from '../support/signing.js';

const BUCKET = DEFAULT_BUCKET;
// Headers that belong to one connection: Node's client adds `Connection`, Kura may drop or add them.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

let origin: TestOrigin;
let kura: TestKura;

/** The same request sent through Kura and straight to the origin (Host still naming Kura). */
async function sendBoth(req: SignedRequest): Promise<{ kura: RawResponse; direct: RawResponse }> {
  const viaKura = await sendRaw(kura.url, req);
  const direct = await sendRaw(origin.url, req);
  return { kura: viaKura, direct };
}

/** Puts an object straight into the origin, signed for the origin's own Host. */
async function putDirect(key: string, body: Buffer): Promise<string> {
  const req = await signRequest(origin.url, { method: 'PUT', path: s3Path(BUCKET, key), body });
  const res = await sendRaw(origin.url, req);
  assert.equal(res.status, 200, `setup PUT ${key}: ${res.body.toString()}`);
  const etag = res.headers.etag;
  assert.ok(etag, `setup PUT ${key}: no ETag`);
  return etag;
}

/** A GET of `key`, signed for Kura's Host. */
function signedGet(key: string, headers: Record<string, string> = {}): Promise<SignedRequest> {
  return signRequest(kura.url, { method: 'GET', path: s3Path(BUCKET, key), headers });
}

function setHeader(headers: string[], name: string, value: string): string[] {
  const out = [...headers];
  const i = out.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  assert.ok(i >= 0, `no ${name} header to change`);
  out[i + 1] = value;
  return out;
}

function headerOf(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === name) return headers[i + 1];
  }
  return undefined;
}

function endToEnd(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? '';
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, headers[i + 1] ?? '');
  }
  return out;
}

/** Each field's values in order, by lower-cased name: what a header list means, whatever its spelling. */
function fieldValues(headers: readonly string[]): [string, string[]][] {
  const fields = new Map<string, string[]>();
  const list = endToEnd(headers);
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = (list[i] ?? '').toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), list[i + 1] ?? '']);
  }
  return [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Host and Content-Length are written by the HTTP client itself (undici frames the message), so their
 * names arrive lower-cased and Content-Length last. Field names are case-insensitive and the order of
 * distinct fields carries no meaning (RFC 9110 §5.1, §5.3), and SigV4 signs them lower-cased and sorted;
 * so they are compared by meaning, and every other field byte for byte.
 */
const FRAMING = new Set(['host', 'content-length']);

function withoutFraming(headers: readonly string[]): string[] {
  const list = endToEnd(headers);
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (!FRAMING.has((list[i] ?? '').toLowerCase())) out.push(list[i] ?? '', list[i + 1] ?? '');
  }
  return out;
}

/**
 * The origin received the header list that was sent: first the same fields and values (duplicates in
 * order), then the same bytes (names' case, fields' order) for every field but the framing ones.
 */
function assertHeadersAsSent(received: readonly string[], sent: readonly string[], via: string): void {
  assert.deepEqual(fieldValues(received), fieldValues(sent), `${via}: a header name or value changed`);
  assert.deepEqual(
    withoutFraming(received),
    withoutFraming(sent),
    `${via}: the header list is not byte for byte as sent (a name's case or the fields' order changed)`,
  );
}

/** The requests the origin received with this exact request target, through Kura or direct. */
function originRecords(rawUrl: string): OriginRequest[] {
  return origin.requests.filter((r) => r.rawUrl === rawUrl);
}

/** Asserts that Kura and direct both refused with 403 SignatureDoesNotMatch, and that S3 made the call. */
function assertBothRefused(r: { kura: RawResponse; direct: RawResponse }, sent: SignedRequest): void {
  assert.equal(r.direct.status, 403, `direct: ${r.direct.body.toString()}`);
  assert.equal(errorCode(r.direct.body), 'SignatureDoesNotMatch');
  assert.equal(r.kura.status, r.direct.status, `Kura: ${r.kura.body.toString()}`);
  assert.equal(errorCode(r.kura.body), errorCode(r.direct.body));
  assert.match(r.kura.headers['content-type'] ?? '', /xml/);
  // Kura forwarded it (S3 said no, not Kura), and direct sent it once too: two identical records.
  const records = originRecords(sent.rawUrl).filter((rec) => rec.method === sent.method);
  assert.equal(records.length, 2, 'the origin did not receive the tampered request once each way');
  for (const [i, rec] of records.entries()) {
    assert.equal(rec.verdict, 'SignatureDoesNotMatch');
    assertHeadersAsSent(rec.rawHeaders, sent.headers, i === 0 ? 'through Kura' : 'direct');
  }
}

describe('a request whose signature was tampered with gets 403 through Kura exactly as direct; nothing is altered', () => {
  before(async () => {
    origin = await startTestOrigin();
    kura = await startTestKura({ origin: origin.url });
  });

  after(async () => {
    await kura?.close();
    await origin?.close();
  });

  test('the untampered signed GET gets 200 and the same bytes through Kura and direct', async () => {
    const body = randomBytes(4096);
    const etag = await putDirect('sig/valid object.bin', body);
    const r = await sendBoth(await signedGet('sig/valid object.bin'));
    assert.equal(r.direct.status, 200);
    assert.equal(r.kura.status, 200, r.kura.body.toString());
    assert.ok(r.kura.body.equals(body), 'Kura returned other bytes');
    assert.ok(r.direct.body.equals(body), 'direct returned other bytes');
    assert.equal(r.kura.headers.etag, etag);
  });

  test('a signed Content-Length: 0 on DELETE, GET and HEAD reaches S3 with the header, as direct', async () => {
    // The AWS CRT (AWS CLI v2's CRT transfer client) signs `content-length;host;…` on DeleteObject.
    const body = randomBytes(700);
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      const key = `sig/content-length zero ${method}`;
      await putDirect(key, body);
      const signed = await signRequest(kura.url, {
        method,
        path: s3Path(BUCKET, key),
        headers: { 'content-length': '0' },
      });
      assert.match(headerOf(signed.headers, 'authorization') ?? '', /SignedHeaders=content-length;host;/);
      const res = await sendRaw(kura.url, signed);
      assert.equal(res.status, method === 'DELETE' ? 204 : 200, `${method}: ${res.body.toString()}`);
      if (method === 'GET') assert.ok(res.body.equals(body), 'GET: other bytes');
      const [rec] = originRecords(signed.rawUrl).filter((r) => r.method === method);
      assert.ok(rec, `${method} did not reach the origin`);
      assert.equal(rec.verdict, 'ok', `${method}: the origin refused the signature`);
      assert.equal(headerOf(rec.rawHeaders, 'content-length'), '0', `${method}: Content-Length left out`);
    }
  });

  test('one changed character of the signature: 403 SignatureDoesNotMatch through Kura as direct', async () => {
    await putDirect('sig/bad signature', randomBytes(512));
    const signed = await signedGet('sig/bad signature');
    const authorization = headerOf(signed.headers, 'authorization') ?? '';
    const last = authorization.at(-1) === '0' ? '1' : '0';
    const tampered = {
      ...signed,
      headers: setHeader(signed.headers, 'authorization', authorization.slice(0, -1) + last),
    };
    assertBothRefused(await sendBoth(tampered), tampered);
  });

  test('a path changed after signing: 403 SignatureDoesNotMatch through Kura as direct', async () => {
    await putDirect('sig/signed path', randomBytes(512));
    await putDirect('sig/other path', randomBytes(512));
    const signed = await signedGet('sig/signed path');
    const tampered = { ...signed, rawUrl: s3Path(BUCKET, 'sig/other path') };
    assertBothRefused(await sendBoth(tampered), tampered);
  });

  test('a signed header (Range) changed after signing: 403 SignatureDoesNotMatch through Kura as direct', async () => {
    await putDirect('sig/signed range', randomBytes(512));
    const signed = await signedGet('sig/signed range', { range: 'bytes=0-9' });
    const tampered = { ...signed, headers: setHeader(signed.headers, 'range', 'bytes=0-99') };
    assertBothRefused(await sendBoth(tampered), tampered);
  });

  test('a query parameter added after signing: 403 SignatureDoesNotMatch through Kura as direct', async () => {
    await putDirect('sig/added query', randomBytes(512));
    const signed = await signedGet('sig/added query');
    const tampered = { ...signed, rawUrl: `${signed.rawUrl}?response-content-type=text%2Fplain` };
    assertBothRefused(await sendBoth(tampered), tampered);
  });

  test('unusual but valid bytes (encoding case, query order, duplicate and odd-case headers) arrive as sent', async () => {
    const body = randomBytes(1000);
    await putDirect('untouched/a/b~c', body);
    const host = new URL(kura.url).host;
    // Mixed-case percent-encoding of `/` and `~`, which a re-encoding proxy would normalise.
    const path = `/${BUCKET}/untouched/a%2fb%7Ec`;
    const query = { 'x-id': 'GetObject', empty: '', 'response-content-type': 'application/x-kura' };
    const rawUrl = `${path}?x-id=GetObject&response-content-type=application%2fx-kura&empty=`;
    const signed = await createS3Signer().sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(kura.url).port),
        path,
        query,
        headers: {
          host,
          'x-amz-content-sha256': sha256Hex(''),
          // Two fields of one name are signed as their values joined by a comma.
          'x-amz-meta-dup': 'first,second',
          'x-amz-meta-spaces': 'a   b    c',
        },
      },
      { signingDate: new Date() },
    );
    const h = signed.headers;
    const headers = [
      'HOST',
      host,
      'X-Amz-Meta-Dup',
      'first',
      'x-AMZ-content-SHA256',
      h['x-amz-content-sha256'] ?? '',
      'x-amz-meta-DUP',
      'second',
      'X-AMZ-META-SPACES',
      'a   b    c',
      'x-amz-date',
      h['x-amz-date'] ?? '',
      'User-AGENT',
      'kura-signature-test/1',
      'AUTHORIZATION',
      h.authorization ?? '',
    ];
    assert.match(
      h.authorization ?? '',
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-dup;x-amz-meta-spaces,/,
    );
    const req: SignedRequest = { method: 'GET', rawUrl, headers, body: undefined };

    const r = await sendBoth(req);
    // RGW 16.2 refuses these bytes direct too (docs/testing.md): there, they must still arrive as sent and
    // get the same answer both ways.
    const expected = originIsRgw()
      ? { status: 403, verdict: 'SignatureDoesNotMatch' }
      : { status: 200, verdict: 'ok' };
    assert.equal(r.direct.status, expected.status, r.direct.body.toString());
    assert.equal(r.kura.status, expected.status, r.kura.body.toString());
    if (!originIsRgw()) assert.ok(r.kura.body.equals(body), 'Kura returned other bytes');
    assert.equal(r.kura.headers['content-type'], r.direct.headers['content-type']);

    // Kura's request came first, then direct's.
    const records = originRecords(rawUrl);
    assert.equal(records.length, 2, 'the origin did not see the raw URL exactly as sent, once each way');
    for (const [i, rec] of [...records.entries()].reverse()) {
      assert.equal(rec.verdict, expected.verdict);
      assert.equal(rec.method, 'GET');
      assertHeadersAsSent(rec.rawHeaders, headers, i === 0 ? 'through Kura' : 'direct');
    }
  });

  test('a signed PUT with odd-case headers and a mixed-case escaped key: body and headers arrive as sent', async () => {
    const body = randomBytes(300_000);
    const host = new URL(kura.url).host;
    const path = `/${BUCKET}/untouched/put%7e%2Bx%3d`;
    const signed = await createS3Signer().sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(kura.url).port),
        path,
        query: {},
        headers: {
          host,
          'content-length': String(body.length),
          'content-type': 'application/octet-stream',
          'x-amz-content-sha256': sha256Hex(body),
          'x-amz-meta-note': 'tab\tand  spaces',
        },
        body,
      },
      { signingDate: new Date() },
    );
    const h = signed.headers;
    const headers = [
      'Host',
      host,
      'content-LENGTH',
      String(body.length),
      'CONTENT-type',
      'application/octet-stream',
      'X-Amz-Meta-Note',
      'tab\tand  spaces',
      'x-amz-content-sha256',
      h['x-amz-content-sha256'] ?? '',
      'X-Amz-Date',
      h['x-amz-date'] ?? '',
      'Authorization',
      h.authorization ?? '',
    ];
    const req: SignedRequest = { method: 'PUT', rawUrl: path, headers, body };
    const viaKura = await sendRaw(kura.url, req);
    // RGW 16.2 refuses this signature (docs/testing.md); the request must still arrive as sent.
    const rgw = originIsRgw();
    assert.equal(viaKura.status, rgw ? 403 : 200, viaKura.body.toString());

    const records = originRecords(path);
    assert.equal(records.length, 1);
    const rec = records[0];
    assert.ok(rec);
    assert.equal(rec.verdict, rgw ? 'SignatureDoesNotMatch' : 'ok');
    assert.equal(rec.method, 'PUT');
    if (!rgw) {
      assert.equal(rec.bodyBytes, body.length);
      assert.equal(rec.bodySha256, sha256Hex(body));
    }
    assertHeadersAsSent(rec.rawHeaders, headers, 'through Kura');
  });

  test('a signed Expect: 100-continue reaches S3 unaltered: the upload verifies through Kura as direct', async () => {
    const body = randomBytes(2048);
    const key = 'sig/expect continue';
    const signed = await createS3Signer().sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(kura.url).port),
        path: s3Path(BUCKET, key),
        query: {},
        headers: {
          host: new URL(kura.url).host,
          'content-length': String(body.length),
          expect: '100-continue',
          'x-amz-content-sha256': sha256Hex(body),
        },
        body,
      },
      // The SDK's signer never signs Expect unless told to; Kura forwards the expectation as received.
      { signingDate: new Date(), signableHeaders: new Set(['expect']) },
    );
    assert.match(signed.headers.authorization ?? '', /SignedHeaders=[^,]*\bexpect\b/);
    const req: SignedRequest = {
      method: 'PUT',
      rawUrl: s3Path(BUCKET, key),
      headers: Object.entries(signed.headers).flat(),
      body,
    };
    const { kura: through, direct } = await sendBoth(req);
    assert.equal(direct.status, 200, direct.body.toString());
    assert.equal(through.status, 200, through.body.toString());
    const records = originRecords(req.rawUrl);
    assert.equal(records.length, 2);
    for (const record of records) {
      const expect = record.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'expect');
      assert.equal(record.rawHeaders[expect + 1], '100-continue', 'the signed Expect arrived');
    }
  });

  test('an unsigned If-None-Match added after signing is accepted by S3, through Kura as direct', async () => {
    const body = randomBytes(2048);
    const key = 'sig/added if-none-match';
    const etag = await putDirect(key, body);
    const signed = await signedGet(key);

    const matching = { ...signed, headers: [...signed.headers, 'If-None-Match', etag] };
    const r = await sendBoth(matching);
    assert.equal(r.direct.status, 304, r.direct.body.toString());
    assert.equal(r.kura.status, 304, r.kura.body.toString());
    assert.equal(r.kura.headers.etag, r.direct.headers.etag);

    const other = { ...signed, headers: [...signed.headers, 'If-None-Match', '"0123456789abcdef"'] };
    const r2 = await sendBoth(other);
    assert.equal(r2.direct.status, 200);
    assert.equal(r2.kura.status, 200, r2.kura.body.toString());
    assert.ok(r2.kura.body.equals(body));

    const records = originRecords(signed.rawUrl).filter(
      (rec) => headerOf(rec.rawHeaders, 'if-none-match') === etag,
    );
    assert.ok(records.length >= 1, 'no request with the added If-None-Match reached the origin');
    for (const rec of records) assert.equal(rec.verdict, 'ok');
  });

  test('raw non-ASCII bytes in a signed header value reach the origin byte-identical', async () => {
    const key = 'sig/non-ascii meta';
    const body = randomBytes(256);
    const host = new URL(kura.url).host;
    const value = 'café ünïcødé ✓';
    // The signer hashes strings as UTF-8, the same bytes that go on the wire; Node writes header strings
    // as latin1, one byte per char, so the UTF-8 bytes are passed as their latin1 string.
    const wireValue = Buffer.from(value, 'utf8').toString('latin1');
    const signed = await createS3Signer().sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(kura.url).port),
        path: s3Path(BUCKET, key),
        query: {},
        headers: {
          host,
          'content-length': String(body.length),
          'x-amz-content-sha256': sha256Hex(body),
          'x-amz-meta-x': value,
        },
        body,
      },
      { signingDate: new Date() },
    );
    const headers = Object.entries({ ...signed.headers, 'x-amz-meta-x': wireValue }).flat();
    const req: SignedRequest = { method: 'PUT', rawUrl: s3Path(BUCKET, key), headers, body };
    const r = await sendRaw(kura.url, req);
    assert.equal(r.status, 200, r.body.toString());

    const records = originRecords(req.rawUrl);
    assert.equal(records.length, 1);
    const rec = records[0];
    assert.ok(rec);
    assert.equal(rec.verdict, 'ok');
    const received = headerOf(rec.rawHeaders, 'x-amz-meta-x');
    assert.equal(received, wireValue, 'the header bytes changed on the way');
    assert.equal(Buffer.from(received ?? '', 'latin1').toString('utf8'), value);
  });
});
