import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { MAX_HELLO_PREFIX, parseClientHello, validHostName } from '../../../src/s3/client-hello.js';

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const vec16 = (b: number[]) => [...u16(b.length), ...b];
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

function sniExtension(...names: [type: number, name: string][]): number[] {
  const list = names.flatMap(([type, name]) => [type, ...vec16(ascii(name))]);
  return [...u16(0), ...vec16(vec16(list))];
}

/** A ClientHello body with the given extensions (raw bytes, each already `type + vector`). */
function helloBody(extensions: number[] | null): number[] {
  const body = [3, 3, ...new Array(32).fill(7), 0, ...vec16([0x13, 0x01, 0x13, 0x02]), 1, 0];
  return extensions === null ? body : [...body, ...vec16(extensions)];
}

function handshake(body: number[]): number[] {
  return [1, ...u24(body.length), ...body];
}

/** Handshake bytes cut into records of at most `size` bytes. */
function records(message: number[], size = 16384): Buffer {
  const out: number[] = [];
  for (let i = 0; i < message.length; i += size) {
    const part = message.slice(i, i + size);
    out.push(22, 3, 1, ...u16(part.length), ...part);
  }
  return Buffer.from(out);
}

const hello = (name = 's3.kura.test') => records(handshake(helloBody(sniExtension([0, name]))));

describe('parseClientHello', () => {
  const cases: { name: string; data: Buffer; want: ReturnType<typeof parseClientHello> | string }[] = [
    { name: 'empty input', data: Buffer.alloc(0), want: { kind: 'need-more' } },
    { name: 'one byte', data: Buffer.from([22]), want: { kind: 'need-more' } },
    {
      name: 'a hello with SNI',
      data: hello(),
      want: { kind: 'hello', sni: 's3.kura.test', bytes: hello().length },
    },
    {
      name: 'the name is lower-cased',
      data: hello('S3.Kura.TEST'),
      want: { kind: 'hello', sni: 's3.kura.test', bytes: hello().length },
    },
    {
      name: 'no extensions at all',
      data: records(handshake(helloBody(null))),
      want: { kind: 'hello', sni: null, bytes: records(handshake(helloBody(null))).length },
    },
    {
      name: 'extensions without server_name',
      data: records(handshake(helloBody([0, 10, ...vec16([0, 2, 0, 29])]))),
      want: 'hello:null',
    },
    {
      name: 'server_name with only a non-host_name entry',
      data: records(handshake(helloBody(sniExtension([7, 'x'])))),
      want: 'hello:null',
    },
    {
      name: 'a hello split over three records',
      data: records(handshake(helloBody(sniExtension([0, 'bucket.s3.amazonaws.com']))), 20),
      want: 'hello:bucket.s3.amazonaws.com',
    },
    {
      name: 'a hello split after two header bytes',
      data: records(handshake(helloBody(sniExtension([0, 'a.b']))), 2),
      want: 'hello:a.b',
    },
    { name: 'plain HTTP', data: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), want: 'not-tls' },
    { name: 'SSH banner', data: Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), want: 'not-tls' },
    { name: 'SSLv2 hello', data: Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), want: 'not-tls' },
    { name: 'record version 2', data: Buffer.from([22, 2, 0, 0, 4, 1, 0, 0, 0]), want: 'not-tls' },
    { name: 'an empty record', data: Buffer.from([22, 3, 1, 0, 0]), want: 'malformed' },
    { name: 'a record over 2^14', data: Buffer.from([22, 3, 1, 0x40, 0x01]), want: 'malformed' },
    {
      name: 'a ServerHello',
      data: Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0]),
      want: 'malformed',
    },
    {
      name: 'an alert record in the middle of the hello',
      data: Buffer.concat([
        records(handshake(helloBody(sniExtension([0, 'a.b']))), 10).subarray(0, 15),
        Buffer.from([21, 3, 3, 0, 2, 2, 40]),
      ]),
      want: 'malformed',
    },
    {
      name: 'a declared hello of 16 KiB + 1',
      data: Buffer.from([22, 3, 1, 0, 4, 1, ...u24(16 * 1024 + 1)]),
      want: 'too-large',
    },
    {
      name: 'a hello of many tiny records past the prefix cap',
      data: records(handshake(helloBody([0, 21, ...vec16(new Array(4000).fill(0))])), 1),
      want: 'too-large',
    },
    {
      name: 'two server_name extensions',
      data: records(handshake(helloBody([...sniExtension([0, 'a.b']), ...sniExtension([0, 'c.d'])]))),
      want: 'malformed',
    },
    {
      name: 'two host_name entries',
      data: records(handshake(helloBody(sniExtension([0, 'a.b'], [0, 'c.d'])))),
      want: 'malformed',
    },
    { name: 'a name with a trailing dot', data: hello('a.b.'), want: 'malformed' },
    { name: 'a name with an underscore', data: hello('a_b.c'), want: 'malformed' },
    { name: 'a name with a space', data: hello('a b.c'), want: 'malformed' },
    { name: 'an IPv4 literal', data: hello('127.0.0.1'), want: 'malformed' },
    { name: 'a label starting with a hyphen', data: hello('-a.b'), want: 'malformed' },
    { name: 'a NUL in the name', data: hello('a\u0000.b'), want: 'malformed' },
    {
      name: 'extensions length one byte too long',
      data: (() => {
        const body = helloBody(sniExtension([0, 'a.b']));
        const at = 2 + 32 + 1 + 6 + 2; // version, random, session, suites, compression
        body[at + 1] = (body[at + 1] as number) + 1;
        return records(handshake(body));
      })(),
      want: 'malformed',
    },
    {
      name: 'cipher suites length past the end',
      data: (() => {
        const body = helloBody(null);
        body[36] = 0xff;
        return records(handshake(body));
      })(),
      want: 'malformed',
    },
    {
      name: 'a session id of 33 bytes',
      data: records(handshake([3, 3, ...new Array(32).fill(0), 33])),
      want: 'malformed',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = parseClientHello(c.data);
      if (typeof c.want === 'string') {
        const [kind, sni] = c.want.split(':');
        assert.equal(got.kind, kind, JSON.stringify(got));
        if (sni !== undefined && got.kind === 'hello') assert.equal(got.sni, sni === 'null' ? null : sni);
      } else assert.deepEqual(got, c.want);
    });
  }

  test('every proper prefix of a hello needs more; the whole is a hello', () => {
    const data = records(handshake(helloBody(sniExtension([0, 'x.example.com']))), 7);
    for (let n = 0; n < data.length; n++) {
      assert.deepEqual(parseClientHello(data.subarray(0, n)), { kind: 'need-more' }, `prefix ${n}`);
    }
    assert.equal(parseClientHello(data).kind, 'hello');
  });

  test('the prefix cap makes a stream of endless records too-large', () => {
    const tiny = Buffer.from([22, 3, 1, 0, 1, 0]);
    const endless = Buffer.concat([
      Buffer.from([22, 3, 1, 0, 4, 1, ...u24(16000)]),
      ...new Array(Math.ceil(MAX_HELLO_PREFIX / 6)).fill(tiny),
    ]);
    assert.equal(parseClientHello(endless).kind, 'too-large');
  });
});

describe('a real ClientHello from node:tls', () => {
  let server: net.Server;
  let captured: Buffer;

  before(async () => {
    let resolveHello: (b: Buffer) => void = () => {};
    const got = new Promise<Buffer>((r) => {
      resolveHello = r;
    });
    server = net.createServer((socket) => {
      let data = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (parseClientHello(data).kind !== 'need-more') {
          resolveHello(data);
          socket.destroy();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      servername: 'Bucket-1.s3.us-east-1.amazonaws.com',
    });
    client.on('error', () => {});
    captured = await got;
    client.destroy();
  });
  after(() => server.close());

  test('gives its SNI, lower-cased, and its length', () => {
    const got = parseClientHello(captured);
    assert.equal(got.kind, 'hello');
    assert.equal(got.kind === 'hello' && got.sni, 'bucket-1.s3.us-east-1.amazonaws.com');
    assert.equal(got.kind === 'hello' && got.bytes, captured.length);
  });

  test('fed one byte at a time, it needs more until the last byte', () => {
    for (let n = 1; n < captured.length; n++) {
      assert.equal(parseClientHello(captured.subarray(0, n)).kind, 'need-more', `prefix ${n}`);
    }
  });

  test('re-framed as one record per byte, it is still read', () => {
    const message = [...captured.subarray(5)];
    const got = parseClientHello(records(message, 1));
    assert.equal(got.kind === 'hello' && got.sni, 'bucket-1.s3.us-east-1.amazonaws.com');
  });

  test('truncated anywhere and with any length byte corrupted, it never throws', () => {
    // Every byte of the record and handshake headers and of the hello's length fields, set to edge values.
    for (let at = 0; at < captured.length; at++) {
      for (const v of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
        const bad = Buffer.from(captured);
        bad[at] = v;
        const got = parseClientHello(bad);
        assert.ok(['need-more', 'hello', 'not-tls', 'malformed', 'too-large'].includes(got.kind));
      }
    }
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const bad = Buffer.from(captured.subarray(0, random() % (captured.length + 1)));
      for (let j = 0; j < 3 && bad.length > 0; j++) bad[random() % bad.length] = random() & 0xff;
      parseClientHello(bad);
    }
  });
});

test('validHostName', () => {
  const cases: [string, string | null][] = [
    ['s3.amazonaws.com', 's3.amazonaws.com'],
    ['A.B', 'a.b'],
    ['localhost', 'localhost'],
    ['x'.repeat(63), 'x'.repeat(63)],
    ['x'.repeat(64), null],
    [`${'a.'.repeat(126)}b`, `${'a.'.repeat(126)}b`],
    [`${'a.'.repeat(127)}b`, null],
    ['', null],
    ['a..b', null],
    ['a.b.', null],
    ['a-.b', null],
    ['1.2.3.4', null],
    ['[::1]', null],
    ['a*.b', null],
    ['é.b', null],
  ];
  for (const [input, want] of cases) {
    assert.equal(validHostName(Buffer.from(input, 'utf8')), want, input);
  }
});
