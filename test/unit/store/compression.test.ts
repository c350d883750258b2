import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { chooseCodec, isCompressedMedia, isCompressedName } from '../../../src/store/compression.js';
import type { Codec } from '../../../src/store/types.js';

/** The smallest real PNG start: signature and IHDR chunk. */
function pngHeader(): Buffer {
  const ihdrData = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  const type = Buffer.from('IHDR', 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(ihdrData.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, ihdrData])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    length,
    type,
    ihdrData,
    crc,
  ]);
}

describe('isCompressedName', () => {
  const cases: [string, boolean][] = [
    ['logs/2024/app.log.gz', true],
    ['backup.TAR.GZ', true],
    ['a.tgz', true],
    ['data/part-0001.snappy.parquet', true],
    ['x.zst', true],
    ['photo.JPEG', true],
    ['movie.mp4', true],
    ['doc.pdf', true],
    ['wheel-1.0-py3-none-any.whl', true],
    ['data.tar', false],
    ['table.csv', false],
    ['model.safetensors', false],
    ['arrays.npz', false],
    ['table.arrow', false],
    ['index.ts', false],
    ['README', false],
    ['dir.gz/file', false],
    ['gz', false],
    ['image.svg', false],
  ];
  for (const [key, expected] of cases)
    test(`${key} → ${expected}`, () => assert.equal(isCompressedName(key), expected));
});

describe('isCompressedMedia', () => {
  const cases: [string | null, string | null, boolean][] = [
    [null, null, false],
    ['text/plain; charset=utf-8', null, false],
    ['text/plain', 'gzip', true],
    ['application/json', 'identity, br', true],
    ['application/json', 'aws-chunked', false],
    ['image/jpeg', null, true],
    ['IMAGE/PNG', null, true],
    ['image/svg+xml', null, false],
    ['image/bmp', null, false],
    ['video/mp4', null, true],
    ['audio/mpeg', null, true],
    ['audio/wav', null, false],
    ['application/zip', null, true],
    ['application/x-gzip', null, true],
    ['application/vnd.apache.parquet', null, true],
    ['application/pdf', null, true],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', null, true],
    ['application/octet-stream', null, false],
    ['application/x-tar', null, false],
    ['font/woff2', null, true],
    ['garbage', null, false],
  ];
  for (const [type, encoding, expected] of cases) {
    test(`${type} / ${encoding} → ${expected}`, () =>
      assert.equal(isCompressedMedia(type, encoding), expected));
  }
});

describe('chooseCodec', () => {
  const plain = {
    enabled: true,
    key: 'data/object',
    contentType: null,
    contentEncoding: null,
    firstBytes: null,
  };
  const cases: [string, Parameters<typeof chooseCodec>[0], Codec][] = [
    ['nothing known', plain, 'lz4'],
    ['disabled', { ...plain, enabled: false }, 'raw'],
    ['gzip bytes', { ...plain, firstBytes: gzipSync(Buffer.from('hello '.repeat(100))) }, 'raw'],
    ['a PNG header', { ...plain, firstBytes: pngHeader() }, 'raw'],
    [
      'plain JSON text',
      {
        ...plain,
        firstBytes: Buffer.from(
          JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: i, name: `row ${i}`, ok: true }))),
        ),
      },
      'lz4',
    ],
    // LZ4's sample of the first bytes decides: it cannot shrink random bytes, nor a few bytes of anything.
    ['random bytes nothing recognises', { ...plain, firstBytes: randomBytes(70_000) }, 'raw'],
    ['a tiny first read', { ...plain, firstBytes: Buffer.from('{"a":1}') }, 'raw'],
    ['an empty first read', { ...plain, firstBytes: Buffer.alloc(0) }, 'lz4'],
    ['a .parquet key', { ...plain, key: 'warehouse/t/part-0.parquet' }, 'raw'],
    ['a gzip Content-Encoding', { ...plain, contentEncoding: 'gzip' }, 'raw'],
    ['a video Content-Type', { ...plain, contentType: 'video/webm' }, 'raw'],
    ['a CSV Content-Type', { ...plain, contentType: 'text/csv' }, 'lz4'],
  ];
  for (const [name, inputs, expected] of cases) {
    test(`${name} → ${expected}`, async () => assert.equal(await chooseCodec(inputs), expected));
  }
});
