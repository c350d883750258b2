// The response head parser and the chunked decoder of Kura's plain-HTTP client, by table: what each
// framing means, which heads are refused, and a chunked body split at every byte.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkedDecoder } from '../../../src/upstream/chunked-decoder.js';
import { bodyOffset, hasResponseBody, parseResponseHead } from '../../../src/upstream/response-head.js';

const head = (text: string) => {
  const buf = Buffer.from(text, 'latin1');
  return parseResponseHead(buf, buf.length);
};

describe('parseResponseHead', () => {
  test('status, reason, headers as sent, framing and connection', () => {
    const text = 'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nETag: "x"\r\n\r\nbody';
    const h = head(text);
    assert.equal(h?.status, 206);
    assert.equal(h?.statusText, 'Partial Content');
    assert.deepEqual(h?.headers, ['Content-Length', '10', 'ETag', '"x"']);
    assert.deepEqual(h?.body, { kind: 'length', length: 10 });
    assert.equal(h?.close, false);
    assert.equal(h?.headBytes, text.indexOf('body'));
  });

  test('an incomplete head is null; chunked, close-framed, HTTP/1.0 and Connection: close', () => {
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n'), null);
    assert.deepEqual(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')?.body, {
      kind: 'chunked',
    });
    assert.deepEqual(head('HTTP/1.1 200 OK\r\n\r\n')?.body, { kind: 'close' });
    assert.equal(head('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n')?.close, true);
    assert.equal(
      head('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n')?.close,
      false,
    );
    assert.equal(head('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n')?.close, true);
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n')?.status, 200);
  });

  for (const [name, text] of [
    ['HTTP/2 status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n'],
    ['chunked and a length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n'],
  ] as const) {
    test(`refused: ${name}`, () => assert.throws(() => head(text), { code: 'UND_ERR_SOCKET' }));
  }

  test('a head that never ends is refused past 64 KiB', () => {
    const buf = Buffer.alloc(70_000, 'a');
    buf.write('HTTP/1.1 200 OK\r\nX: ');
    assert.throws(() => parseResponseHead(buf, buf.length), /too large/);
  });

  test('which answers have a body, and where a 206 starts', () => {
    assert.equal(hasResponseBody('GET', 200), true);
    assert.equal(hasResponseBody('HEAD', 200), false);
    assert.equal(hasResponseBody('GET', 304), false);
    assert.equal(hasResponseBody('GET', 204), false);
    assert.equal(bodyOffset(206, ['Content-Range', 'bytes 1048577-2000000/9000000']), 1_048_577);
    assert.equal(bodyOffset(200, ['Content-Range', 'bytes 5-6/9']), 0);
  });
});

describe('ChunkedDecoder', () => {
  const framed = Buffer.from(
    '5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\nNEXT',
  );

  test('split at every byte, the data is the same and the bytes after the body are left', () => {
    for (const step of [1, 2, 3, 7, framed.length]) {
      const d = new ChunkedDecoder();
      const data: Buffer[] = [];
      let used = 0;
      for (let at = 0; at < framed.length && !d.done; at += step) {
        const r = d.push(framed.subarray(at, at + step));
        data.push(...r.data);
        used += r.used;
      }
      assert.equal(Buffer.concat(data).toString(), 'helloabcdefghijklmnopqrstuvwxyz', `step ${step}`);
      assert.ok(d.done);
      assert.equal(framed.subarray(used).toString(), 'NEXT', `step ${step}`);
    }
  });

  test('a bad size line or data longer than its size is an error', () => {
    assert.throws(() => new ChunkedDecoder().push(Buffer.from('zz\r\n')), /chunk size/);
    assert.throws(() => new ChunkedDecoder().push(Buffer.from('2\r\nabc\r\n')), /longer than its size/);
  });
});
