// The gateway's answer decoration on a real HTTP exchange: a head held for the Content-Type sniff goes
// out before every byte the cache writes meanwhile, whatever the order of the cache's calls; a version
// sniffed once keeps its type.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { decorate, type Seen } from '../../../src/gateway/answer.js';
import { solidPng } from '../../support/gateway.js';

test('bytes written while the sniffed head is on its way follow it, in order, with the found type', async () => {
  const png = solidPng(24, 16, [10, 160, 40]);
  const server = http.createServer((req, res) => {
    const seen: Seen = { status: null, ttfbMs: null };
    decorate(
      res,
      {
        extra: ['access-control-allow-origin', '*'],
        sniff: true,
        object: null,
        started: 0,
        errors: 'xml',
        resource: req.url ?? '',
      },
      seen,
    );
    // As a fill answers: all but the last byte, then (the record written) the last byte, then the end,
    // each before the sniff has settled.
    res.writeHead(200, ['content-type', 'application/octet-stream', 'content-length', String(png.length)]);
    res.write(png.subarray(0, -1));
    res.write(png.subarray(-1), () => {});
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as AddressInfo).port;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/leaf`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
    }
  } finally {
    server.close();
  }
});

test("a version's sniffed type is remembered: its later answers carry it at once; a new ETag is sniffed", async () => {
  const png = solidPng(24, 16, [10, 160, 40]);
  // Not an image: were it sniffed, the type would stay S3's.
  const plain = Buffer.alloc(png.length, 0x41);
  let body = png;
  let etag = '"v1"';
  const server = http.createServer((req, res) => {
    decorate(
      res,
      {
        extra: [],
        sniff: true,
        object: `origin bucket${req.url ?? ''}`,
        started: 0,
        errors: 'xml',
        resource: req.url ?? '',
      },
      { status: null, ttfbMs: null },
    );
    res.writeHead(200, [
      'content-type',
      'application/octet-stream',
      'content-length',
      String(body.length),
      'etag',
      etag,
    ]);
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const typeOf = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
    return res.headers.get('content-type');
  };
  try {
    assert.equal(await typeOf('/remembered'), 'image/png');
    body = plain;
    assert.equal(await typeOf('/remembered'), 'image/png', 'the same version: the type found before');
    assert.equal(await typeOf('/other'), 'application/octet-stream', 'another object is sniffed');
    etag = '"v2"';
    assert.equal(await typeOf('/remembered'), 'application/octet-stream', 'a new version is sniffed');
  } finally {
    server.close();
  }
});
