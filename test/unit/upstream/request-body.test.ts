import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { bodyForUpstream, isChunkedRequest } from '../../../src/upstream/request-body.js';

test('isChunkedRequest: chunked is the final transfer coding, in any case and over several fields', () => {
  assert.equal(isChunkedRequest(['Host', 'h']), false);
  assert.equal(isChunkedRequest(['Transfer-Encoding', 'chunked']), true);
  assert.equal(isChunkedRequest(['transfer-encoding', 'gzip, Chunked']), true);
  assert.equal(isChunkedRequest(['Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked']), true);
  assert.equal(isChunkedRequest(['Transfer-Encoding', 'chunked, gzip']), false);
  assert.equal(isChunkedRequest(['Content-Length', '3']), false);
});

test('a chunked body that already ended reaches undici as a stream it cannot measure, bytes unchanged', async () => {
  const ended = Readable.from([Buffer.from('abc')], { objectMode: false });
  ended.read(0);
  await new Promise((resolve) => setImmediate(resolve));
  for (const body of [ended, Buffer.from('abc')]) {
    const framed = bodyForUpstream(['Transfer-Encoding', 'chunked'], body);
    assert.ok(framed instanceof Readable);
    // undici frames with Content-Length only a byte stream (objectMode false) it has seen end.
    assert.equal(framed.readableObjectMode, true);
    const parts: Buffer[] = [];
    for await (const part of framed) parts.push(part as Buffer);
    assert.equal(Buffer.concat(parts).toString(), 'abc');
  }
});

test('bodies with a length are given as they are', () => {
  const buffer = Buffer.from('abc');
  assert.equal(bodyForUpstream(['Content-Length', '3'], buffer), buffer);
  const stream = Readable.from([buffer]);
  assert.equal(bodyForUpstream(['Content-Length', '3'], stream), stream);
  assert.equal(bodyForUpstream(['Transfer-Encoding', 'chunked'], null), null);
});
