import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AwsChunkedDecoder,
  AwsChunkedError,
  isAwsChunked,
  storedContentEncoding,
} from '../../../src/s3/aws-chunked.js';
import { type FrameOptions, frameAwsChunked, unframeAwsChunked } from '../../support/aws-chunked-body.js';
import { prng } from '../../support/cache-client.js';

function bytes(seed: number, n: number): Buffer {
  const next = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
}

/** Feeds `framed` in pieces of `step` bytes; the decoded object bytes, or the error that stopped it. */
function decode(framed: Buffer, decodedLength: number, step = framed.length): Buffer | AwsChunkedError {
  const decoder = new AwsChunkedDecoder({ decodedLength });
  const out: Buffer[] = [];
  try {
    for (let at = 0; at < framed.length; at += step)
      out.push(...decoder.push(framed.subarray(at, at + step)));
    decoder.end();
  } catch (err) {
    if (err instanceof AwsChunkedError) return err;
    throw err;
  }
  return Buffer.concat(out);
}

const body = bytes(7, 200_000);

describe('AwsChunkedDecoder on well-formed bodies', () => {
  const variants: { name: string; opts: FrameOptions }[] = [
    {
      name: 'unsigned with a CRC32 trailer',
      opts: { signing: 'unsigned', trailers: [['x-amz-checksum-crc32', 'AAAAAA==']] },
    },
    { name: 'SigV4 signed chunks', opts: { signing: 'sigv4' } },
    {
      name: 'SigV4 signed chunks with trailer',
      opts: { signing: 'sigv4', trailers: [['x-amz-checksum-crc32c', 'BBBBBB==']] },
    },
    { name: 'SigV4A signed chunks', opts: { signing: 'sigv4a' } },
    {
      name: 'SigV4A with trailer and 8 KiB chunks',
      opts: { signing: 'sigv4a', chunkSize: 8192, trailers: [['x-amz-checksum-sha256', 'x']] },
    },
  ];
  for (const { name, opts } of variants) {
    it(`${name}: whole, byte by byte and in odd pieces`, () => {
      const framed = frameAwsChunked(body, opts);
      assert.deepEqual(unframeAwsChunked(framed)?.body, body);
      for (const step of [framed.length, 1, 7, 4093, 65_536]) {
        const got = decode(framed, body.length, step);
        assert.ok(Buffer.isBuffer(got), `step ${step}: ${(got as Error).message}`);
        assert.ok(got.equals(body), `step ${step}`);
      }
    });
  }

  it('keeps the trailers, names lower-cased', () => {
    const framed = frameAwsChunked(body, { trailers: [['X-Amz-Checksum-CRC32', 'sOO8/Q==']] });
    const decoder = new AwsChunkedDecoder({ decodedLength: body.length });
    decoder.push(framed);
    decoder.end();
    assert.deepEqual(decoder.trailers, [['x-amz-checksum-crc32', 'sOO8/Q==']]);
    assert.equal(decoder.decoded, body.length);
  });

  it('decodes an empty object', () => {
    const got = decode(frameAwsChunked(Buffer.alloc(0), { signing: 'sigv4' }), 0, 1);
    assert.ok(Buffer.isBuffer(got) && got.length === 0);
  });
});

describe('AwsChunkedDecoder refuses what it cannot read exactly', () => {
  const small = Buffer.from('hello world');
  const good = frameAwsChunked(small, { chunkSize: 4 });
  const cases: [string, Buffer, number, RegExp][] = [
    ['decoded length larger than the chunks', good, 12, /11 bytes decoded, 12 declared/],
    ['decoded length smaller than a chunk', good, 10, /goes past/],
    ['a chunk size that is not hex', Buffer.from('zz\r\nab\r\n0\r\n\r\n'), 2, /not a chunk header/],
    ['a size line too long', Buffer.from(`${'0'.repeat(300)}1\r\n`), 1, /too long/],
    ['an oversized chunk', Buffer.from('ffffffffffff\r\n'), 10, /goes past/],
    ['a size of 17 hex digits', Buffer.from('10000000000000000\r\n'), 10, /not a chunk header/],
    ['an unknown chunk extension', Buffer.from('2;foo=bar\r\nab\r\n0\r\n\r\n'), 2, /not a chunk header/],
    [
      'a short signature',
      Buffer.from(`2;chunk-signature=${'a'.repeat(10)}\r\nab\r\n0\r\n\r\n`),
      2,
      /not a chunk header/,
    ],
    ['data longer than its size', Buffer.from('2\r\nabc\r\n0\r\n\r\n'), 2, /longer than its declared size/],
    ['a bare LF', Buffer.from('2\nab\r\n0\r\n\r\n'), 2, /CRLF/],
    ['bytes after the final chunk', Buffer.concat([good, Buffer.from('x')]), 11, /after the final chunk/],
    [
      'a trailer that is not x-amz-*',
      Buffer.from('2\r\nab\r\n0\r\nfoo:bar\r\n\r\n'),
      2,
      /not a trailer line/,
    ],
    [
      'a trailer with no colon',
      Buffer.from('2\r\nab\r\n0\r\nx-amz-checksum-crc32\r\n\r\n'),
      2,
      /not a trailer line/,
    ],
    [
      'trailers past the limit',
      Buffer.from(`0\r\n${'x-amz-a:b\r\n'.repeat(2000)}\r\n`),
      0,
      /trailers longer/,
    ],
    ['a body cut inside data', good.subarray(0, 6), 11, /ended inside/],
    ['a body cut before the closing line', good.subarray(0, good.length - 2), 11, /ended inside/],
    ['an empty body', Buffer.alloc(0), 0, /ended inside/],
  ];
  for (const [name, framed, length, message] of cases) {
    it(name, () => {
      for (const step of [Math.max(1, framed.length), 1]) {
        const got = decode(framed, length, step);
        assert.ok(got instanceof AwsChunkedError, `step ${step}: decoded ${String(got)}`);
        assert.match(got.message, message);
      }
    });
  }

  it('never throws anything but AwsChunkedError on 2000 cut and corrupted bodies', () => {
    const framed = frameAwsChunked(bytes(3, 3000), {
      chunkSize: 700,
      signing: 'sigv4',
      trailers: [['x-amz-checksum-crc32', 'AAAAAA==']],
    });
    const next = prng(11);
    const int = (n: number) => Math.floor(next() * n);
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(framed.subarray(0, int(framed.length + 1)));
      for (let k = int(4); k > 0 && copy.length > 0; k--) copy[int(copy.length)] = int(256);
      const got = decode(copy, 3000, 1 + int(64));
      if (Buffer.isBuffer(got)) assert.equal(got.length, 3000);
    }
  });
});

describe('aws-chunked content encodings', () => {
  it('finds aws-chunked in a Content-Encoding list and keeps the rest for the object', () => {
    assert.equal(isAwsChunked('aws-chunked'), true);
    assert.equal(isAwsChunked('aws-chunked,gzip'), true);
    assert.equal(isAwsChunked('gzip, aws-chunked'), true);
    assert.equal(isAwsChunked('gzip'), false);
    assert.equal(isAwsChunked(undefined), false);
    assert.equal(storedContentEncoding('aws-chunked'), null);
    assert.equal(storedContentEncoding('aws-chunked,gzip'), 'gzip');
    assert.equal(storedContentEncoding('gzip, aws-chunked, br'), 'gzip,br');
    assert.equal(storedContentEncoding(undefined), null);
  });
});
