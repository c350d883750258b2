// Bad input gets a clear, S3-shaped answer or a clean close, reaches no upstream it should not, and
// Kura keeps serving afterwards.

import assert from 'node:assert/strict';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { DEFAULT_BUCKET, startTestOrigin, type TestOrigin } from '../support/origin.js';
import { expectContinue, parseResponse, rawConversation, rawExchange } from '../support/raw-http.js';
import { errorCode, s3Path, sendRaw, signRequest } from '../support/signing.js';

let origin: TestOrigin;
let kura: TestKura;

before(async () => {
  origin = await startTestOrigin();
  // Only the loopback names are routed to the origin; everything else must meet the allowlist.
  kura = await startTestKura({
    settings: {
      'upstream.overrides': { '127.0.0.1': origin.url, localhost: origin.url },
      'server.header_timeout': '1s',
      'server.max_header_size': '16KiB',
    },
  });
});
after(async () => {
  await kura.close();
  await origin.close();
});

async function assertStillServing(): Promise<void> {
  const req = await signRequest(kura.url, {
    method: 'PUT',
    path: s3Path(DEFAULT_BUCKET, 'alive'),
    body: 'ok',
  });
  const res = await sendRaw(kura.url, req);
  assert.equal(res.status, 200, res.body.toString());
}

function get(target: string, headers: string): string {
  return `GET ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;
}

describe('malformed requests get S3-shaped errors', () => {
  const cases: [string, string, number, string][] = [
    ['no Host', get('/b/k', ''), 400, 'InvalidRequest'],
    ['two Hosts', get('/b/k', 'Host: 127.0.0.1\r\nHost: 127.0.0.2\r\n'), 400, 'InvalidRequest'],
    ['Host with a space', get('/b/k', 'Host: bad host\r\n'), 400, 'InvalidArgument'],
    ['Host with an empty label', get('/b/k', 'Host: a..b\r\n'), 400, 'InvalidArgument'],
    ['Host with a bad port', get('/b/k', 'Host: 127.0.0.1:99999\r\n'), 400, 'InvalidArgument'],
    ['Host with userinfo', get('/b/k', 'Host: user@127.0.0.1\r\n'), 400, 'InvalidArgument'],
    ['malformed percent-encoding', get('/b/%zz', 'Host: 127.0.0.1\r\n'), 400, 'InvalidURI'],
    ['asterisk-form', get('*', 'Host: 127.0.0.1\r\n'), 400, 'InvalidURI'],
    ['raw non-ASCII bytes in the path', get('/b/café', 'Host: 127.0.0.1\r\n'), 400, 'InvalidURI'],
    [
      'a method S3 does not have',
      'PATCH /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      405,
      'MethodNotAllowed',
    ],
    [
      'an unknown method token',
      'FROB /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      405,
      'MethodNotAllowed',
    ],
    [
      'CONNECT',
      'CONNECT s3.amazonaws.com:443 HTTP/1.1\r\nHost: s3.amazonaws.com:443\r\n\r\n',
      405,
      'MethodNotAllowed',
    ],
    ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400, 'InvalidRequest'],
    [
      'oversized headers',
      get('/b/k', `Host: 127.0.0.1\r\nx-amz-meta-big: ${'x'.repeat(20_000)}\r\n`),
      400,
      'RequestHeaderSectionTooLarge',
    ],
    [
      'absolute-form whose Host names another host',
      get(`http://127.0.0.1/${DEFAULT_BUCKET}/k`, 'Host: localhost\r\n'),
      400,
      'InvalidRequest',
    ],
  ];
  for (const [name, raw, status, code] of cases) {
    test(name, async () => {
      const before = origin.requests.length;
      const res = await rawExchange(kura.port, raw);
      assert.ok(res, 'an answer, not a bare close');
      assert.equal(res.status, status, res.body);
      assert.equal(res.headers['content-type'], 'application/xml');
      assert.equal(errorCode(res.body), code, res.body);
      assert.match(res.body, /<RequestId>[0-9A-F]{16}<\/RequestId>/);
      assert.equal(origin.requests.length, before, 'nothing reached the origin');
    });
  }
  after(assertStillServing);
});

describe('not an open proxy', () => {
  const refused: [string, string][] = [
    ['absolute-form to another site', get('http://example.com/b/k', 'Host: example.com\r\n')],
    ['origin-form naming another site', get('/b/k', 'Host: example.com\r\n')],
    ['the instance metadata address', get('/latest/meta-data/', 'Host: 169.254.169.254\r\n')],
    ['an AWS service that is not S3', get('/', 'Host: sts.amazonaws.com\r\n')],
    ['a name that only ends like AWS', get('/b/k', 'Host: s3.amazonaws.com.example.net\r\n')],
  ];
  for (const [name, raw] of refused) {
    test(`${name} gets 403 AccessDenied and no connection`, async () => {
      const before = origin.requests.length;
      const res = await rawExchange(kura.port, raw);
      assert.equal(res?.status, 403, res?.body);
      assert.equal(errorCode(res?.body ?? ''), 'AccessDenied');
      assert.equal(origin.requests.length, before);
      const record = kura.access.at(-1);
      assert.equal(record?.upstream, null, 'no upstream was chosen');
    });
  }

  test('absolute-form to an allowed host is forwarded with its Host untouched', async () => {
    const signed = await signRequest(kura.url, {
      method: 'PUT',
      path: s3Path(DEFAULT_BUCKET, 'via-proxy'),
      body: 'p',
    });
    const res = await sendRaw(kura.url, { ...signed, rawUrl: `${kura.url}${signed.rawUrl}` });
    assert.equal(res.status, 200, res.body.toString());
    const seen = origin.requests.at(-1);
    assert.equal(seen?.rawUrl, signed.rawUrl, 'the origin gets origin-form');
    assert.equal(seen?.verdict, 'ok');
  });
});

describe('slow and broken clients', () => {
  test('headers that never finish get 400 RequestTimeout after server.header_timeout', async () => {
    const res = await rawExchange(kura.port, 'GET /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\n', 8_000);
    assert.equal(res?.status, 400);
    assert.equal(errorCode(res?.body ?? ''), 'RequestTimeout');
  });

  test('a client that disconnects mid-upload aborts the upload to S3; Kura goes on', async () => {
    // s3rver keeps partial uploads, so this origin only records how each upload ended.
    const ends: string[] = [];
    const recorder = createHttpServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      req.on('end', () => {
        ends.push(`complete ${bytes}`);
        res.end();
      });
      req.on('aborted', () => ends.push(`aborted after ${bytes}`));
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    const k = await startTestKura({
      origin: `http://127.0.0.1:${(recorder.address() as { port: number }).port}`,
    });
    try {
      await new Promise<void>((resolve) => {
        const req = request({
          host: '127.0.0.1',
          port: k.port,
          method: 'PUT',
          path: '/bucket/cut-short',
          headers: { host: '127.0.0.1', 'content-length': 8 * 2 ** 20 },
          agent: false,
        });
        req.on('error', () => resolve());
        req.on('response', () => resolve());
        req.write(Buffer.alloc(2 ** 20, 1), () => setTimeout(() => req.destroy(), 200));
      });
      for (let i = 0; i < 50 && ends.length === 0; i++) await sleep(20);
      assert.equal(ends.length, 1);
      assert.match(ends[0] as string, /^aborted after \d+$/, 'the origin saw the upload cut, never complete');
      // The access line is written once the request is over, its cleanup included.
      for (let i = 0; i < 100 && k.access.length === 0; i++) await sleep(20);
      assert.equal(k.access.at(-1)?.operation, 'PutObject');
    } finally {
      await k.close();
      recorder.closeAllConnections();
      recorder.close();
    }
    await assertStillServing();
  });

  test('a client that goes away while downloading does not stop Kura', async () => {
    const body = Buffer.alloc(16 * 2 ** 20, 7);
    const put = await signRequest(kura.url, { method: 'PUT', path: s3Path(DEFAULT_BUCKET, 'big'), body });
    assert.equal((await sendRaw(kura.url, put)).status, 200);
    const get = await signRequest(kura.url, { method: 'GET', path: s3Path(DEFAULT_BUCKET, 'big') });
    await new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: kura.port,
        path: get.rawUrl,
        headers: get.headers,
        setHost: false,
        agent: false,
      });
      req.on('response', (res) => res.once('data', () => req.destroy()));
      req.on('close', () => resolve());
      req.end();
    });
    await assertStillServing();
  });
});

describe('upstream failures are S3-shaped', () => {
  test('an origin that refuses connections gives 502', async () => {
    const closedPort = await freePort();
    const k = await startTestKura({ origin: `http://127.0.0.1:${closedPort}` });
    try {
      const res = await rawExchange(k.port, get('/b/k', 'Host: 127.0.0.1\r\n'));
      assert.equal(res?.status, 502);
      assert.equal(errorCode(res?.body ?? ''), 'BadGateway');
    } finally {
      await k.close();
    }
  });

  test('an origin that accepts but never answers gives 504 after upstream.first_byte_timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const k = await startTestKura({
      origin: `http://127.0.0.1:${port}`,
      settings: { 'upstream.first_byte_timeout': '500ms' },
    });
    try {
      const res = await rawExchange(k.port, get('/b/k', 'Host: 127.0.0.1\r\n'));
      assert.equal(res?.status, 504);
      assert.equal(errorCode(res?.body ?? ''), 'GatewayTimeout');
      const head = await rawExchange(
        k.port,
        'HEAD /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      );
      assert.equal(head?.status, 504);
      assert.equal(head?.body, '', 'HEAD answers carry no body');
      // An upload waiting for 100 Continue hears Kura's after 1 s of silence, sends its body, and the
      // timeout runs from the body's end.
      const body = Buffer.alloc(10_000, 1);
      const put = await expectContinue(
        k.port,
        `PUT /b/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
        body,
        10_000,
      );
      assert.deepEqual(put.interim, [100]);
      assert.equal(put.bodyBytesSent, body.length);
      assert.equal(put.response?.status, 504);
      assert.equal(errorCode(put.response?.body ?? ''), 'GatewayTimeout');
    } finally {
      await k.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('Expect: 100-continue', () => {
  test('a refused upload is answered before the client sends its body', async () => {
    const res = await rawExchange(
      kura.port,
      'PUT /b/k HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n',
    );
    assert.equal(res?.status, 403, 'the first answer is the refusal, not 100 Continue');
    assert.equal(errorCode(res?.body ?? ''), 'AccessDenied');
  });

  test('an accepted upload gets 100 Continue, then S3 answers', async () => {
    const body = Buffer.alloc(100_000, 3);
    const signed = await signRequest(kura.url, {
      method: 'PUT',
      path: s3Path(DEFAULT_BUCKET, 'continued'),
      body,
    });
    const status = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      const req = request({
        host: '127.0.0.1',
        port: kura.port,
        method: 'PUT',
        path: signed.rawUrl,
        headers: [...signed.headers, 'Expect', '100-continue'],
        setHost: false,
        agent: false,
      });
      req.on('continue', () => {
        seen.push(100);
        req.end(body);
      });
      req.on('response', (r) => {
        seen.push(r.statusCode ?? 0);
        r.resume();
        r.on('end', () => resolve(seen));
      });
      req.on('error', reject);
    });
    assert.deepEqual(status, [100, 200]);
    assert.equal(origin.requests.at(-1)?.bodyBytes, body.length);
  });
});

describe('pipelined requests', () => {
  test('garbage after a valid GET: the GET is answered in full, then 405, then the connection closes', async () => {
    // Large enough that the GET's answer is still streaming when the garbage is parsed.
    const body = Buffer.alloc(3 * 2 ** 20, 'pipelined ');
    const path = s3Path(DEFAULT_BUCKET, 'pipelined');
    const put = await sendRaw(kura.url, await signRequest(kura.url, { method: 'PUT', path, body }));
    assert.equal(put.status, 200, put.body.toString());
    const signed = await signRequest(kura.url, { method: 'GET', path });
    const head = [`GET ${signed.rawUrl} HTTP/1.1`];
    for (let i = 0; i < signed.headers.length; i += 2)
      head.push(`${signed.headers[i]}: ${signed.headers[i + 1]}`);
    const raw = `${head.join('\r\n')}\r\n\r\nFROB /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

    const text = await rawConversation(kura.port, raw);
    const first = parseResponse(text);
    assert.ok(first, 'an answer');
    assert.equal(first.status, 200, first.body.slice(0, 300));
    const length = Number(first.headers['content-length']);
    assert.equal(length, body.length);
    assert.equal(first.body.slice(0, length), body.toString('latin1'), 'the whole GET body, byte-exact');
    const second = parseResponse(first.body.slice(length));
    assert.ok(second, 'an answer to the garbage after the GET’s');
    assert.equal(second.status, 405);
    assert.equal(errorCode(second.body), 'MethodNotAllowed');
    assert.equal(second.headers.connection, 'close');
  });
});
