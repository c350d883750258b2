// One access-log line per request, with what an operator needs, and nothing that grants access.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AccessRecord, createAccessLog, s3AccessLine } from '../../src/telemetry/access-log.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { spawnKura, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { DEFAULT_BUCKET, startTestOrigin, type TestOrigin } from '../support/origin.js';
import { parseResponse, rawConversation } from '../support/raw-http.js';
import { presign, s3Path, sendRaw, signRequest } from '../support/signing.js';

let origin: TestOrigin;
let kura: TestKura;

before(async () => {
  origin = await startTestOrigin();
  kura = await startTestKura({ origin: origin.url });
});
after(async () => {
  await kura.close();
  await origin.close();
});

test('a presigned GET is logged with its operation, status and bytes, and its signature redacted', async () => {
  const body = Buffer.alloc(10_000, 'a');
  const put = await signRequest(kura.url, { method: 'PUT', path: s3Path(DEFAULT_BUCKET, 'logged'), body });
  assert.equal((await sendRaw(kura.url, put)).status, 200);
  const target = await presign(kura.url, { method: 'GET', path: s3Path(DEFAULT_BUCKET, 'logged') });
  const res = await sendRaw(kura.url, {
    method: 'GET',
    rawUrl: target,
    headers: ['Host', `127.0.0.1:${kura.port}`],
  });
  assert.equal(res.status, 200);
  assert.ok(res.body.equals(body));

  const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(target)?.[1] as string;
  const record = kura.access.at(-1);
  assert.ok(record);
  assert.equal(record.operation, 'GetObject');
  assert.equal(record.method, 'GET');
  assert.equal(record.status, 200);
  assert.equal(record.upstream, origin.url);
  assert.ok(record.bytesOut > body.length, 'bytes out count the body and headers');
  assert.match(record.requestId, /^[0-9A-F]{16}$/);
  assert.ok(record.path.includes('X-Amz-Signature=REDACTED'), record.path);
  assert.ok(!record.path.includes(signature), 'the signature never reaches the log');
  assert.ok(record.path.includes('X-Amz-Credential='), 'the credential scope stays, as in S3 logs');
});

test('a file access log gets one JSON line per record', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-access-'));
  try {
    const log = createAccessLog(join(dir, 'access.log'));
    for (const status of [200, 404]) {
      log.write({
        requestId: 'R',
        remote: '127.0.0.1',
        method: 'GET',
        host: 'h',
        path: '/b/k',
        operation: 'GetObject',
        status,
        bytesIn: 0,
        bytesOut: 1,
        durationMs: 1,
        upstream: null,
      });
    }
    await log.close();
    const lines = (await readFile(join(dir, 'access.log'), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { status: number }).status),
      [200, 404],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a ranged GET is logged with bucket, key, range, X-Cache, time to first byte and total time', async () => {
  const memory = await startMemoryOrigin();
  const k = await startTestKura({ origin: memory.url });
  try {
    const body = randomBytes(100_000);
    memory.put('kura-test', 'dir/ranged key.bin', body);
    const client = sdkClient(k.url);
    for (const expected of ['MISS', 'HIT']) {
      const read = await sdkGet(client, 'kura-test', 'dir/ranged key.bin', 'bytes=10-1009');
      assert.equal(read.xCache, expected);
      assert.ok(read.body.equals(body.subarray(10, 1010)));
    }
    await waitFor(() => k.access.length === 2);
    const [miss, hit] = k.access as [AccessRecord, AccessRecord];
    for (const [r, cache] of [
      [miss, 'MISS'],
      [hit, 'HIT'],
    ] as const) {
      assert.equal(r.operation, 'GetObject');
      assert.equal(r.bucket, 'kura-test');
      assert.equal(r.key, 'dir/ranged key.bin');
      assert.equal(r.range, 'bytes=10-1009');
      assert.equal(r.status, 206);
      assert.equal(r.cache, cache);
      assert.equal(r.upstream, memory.url);
      assert.equal(typeof r.ttfbMs, 'number');
      assert.ok((r.ttfbMs as number) <= r.durationMs, 'the head goes out before the last byte');
      assert.ok(r.bytesOut > 1000);
    }
  } finally {
    await k.close();
    await memory.close();
  }
});

test('the S3 access log format puts each fact where S3 puts it, and no signature', () => {
  const line = s3AccessLine(
    {
      requestId: '0123456789ABCDEF',
      remote: '10.0.0.7',
      method: 'GET',
      host: 'bucket-a.s3.amazonaws.com',
      path: '/a%20b.parquet?X-Amz-Signature=REDACTED&X-Amz-Credential=AKIA%2F20260101',
      operation: 'GetObject',
      bucket: 'bucket-a',
      key: 'a b.parquet',
      range: 'bytes=0-99',
      status: 206,
      bytesIn: 300,
      bytesOut: 512,
      cache: 'HIT',
      ttfbMs: 1.4,
      durationMs: 3.6,
      upstream: 'https://s3.amazonaws.com',
      userAgent: 'aws-cli/2 "quoted"',
    },
    new Date(Date.UTC(2026, 1, 6, 0, 0, 38)),
  );
  assert.ok(line.endsWith('\n'));
  assert.ok(!line.includes('Signature=0'), 'only the redacted signature appears');
  const fields = line.trimEnd().match(/"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S+/g) ?? [];
  assert.equal(fields[1], 'bucket-a');
  assert.equal(fields[2], '[06/Feb/2026:00:00:38 +0000]');
  assert.equal(fields[3], '10.0.0.7');
  assert.equal(fields[5], '0123456789ABCDEF');
  assert.equal(fields[6], 'REST.GET.OBJECT');
  assert.equal(fields[7], 'a%20b.parquet');
  assert.equal(
    fields[8],
    '"GET /a%20b.parquet?X-Amz-Signature=REDACTED&X-Amz-Credential=AKIA%2F20260101 HTTP/1.1"',
  );
  assert.equal(fields[9], '206');
  assert.equal(fields[10], '-');
  assert.equal(fields[11], '512');
  assert.equal(fields[13], '4');
  assert.equal(fields[14], '1');
  assert.equal(fields[16], '"aws-cli/2 \\"quoted\\""');
  assert.equal(fields[22], 'bucket-a.s3.amazonaws.com');
  assert.deepEqual(fields.slice(-3), ['HIT', '"bytes=0-99"', 'https://s3.amazonaws.com']);
});

test('after the file is moved away, SIGHUP makes kura write to a new file under the name', async () => {
  const memory = await startMemoryOrigin();
  const dir = await mkdtemp(join(tmpdir(), 'kura-access-'));
  const file = join(dir, 'access.log');
  const kura = await spawnKura(['--origin', memory.url], {
    KURA_LOG_ACCESS: file,
    KURA_LOG_ACCESS_FORMAT: 's3',
  });
  try {
    memory.put('kura-test', 'rotated.bin', Buffer.from('rotate me'));
    const client = sdkClient(kura.url);
    assert.equal((await sdkGet(client, 'kura-test', 'rotated.bin')).status, 200);
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).includes('rotated.bin'));
    await rename(file, `${file}.1`);
    kura.child.kill('SIGHUP');
    await waitFor(() => kura.stderr().includes('SIGHUP'));
    assert.equal((await sdkGet(client, 'kura-test', 'rotated.bin')).xCache, 'HIT');
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).includes('rotated.bin'));
    const before = (await readFile(`${file}.1`, 'utf8')).trimEnd().split('\n');
    const after = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(before.length, 1);
    assert.equal(after.length, 1);
    assert.match(before[0] as string, / REST\.GET\.OBJECT rotated\.bin .* MISS /);
    assert.match(after[0] as string, / REST\.GET\.OBJECT rotated\.bin .* HIT /);
  } finally {
    await kura.stop();
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a JSON line of a presigned GET holds its path, redacted, in the record's field order", async () => {
  const memory = await startMemoryOrigin();
  const dir = await mkdtemp(join(tmpdir(), 'kura-access-'));
  const file = join(dir, 'access.log');
  const kura = await spawnKura(['--origin', memory.url], { KURA_LOG_ACCESS: file });
  try {
    memory.put('kura-test', 'lined.bin', Buffer.from('a line of its own'));
    const target = await presign(kura.url, { method: 'GET', path: s3Path('kura-test', 'lined.bin') });
    const port = new URL(kura.url).port;
    const res = await sendRaw(kura.url, {
      method: 'GET',
      rawUrl: target,
      headers: ['Host', `127.0.0.1:${port}`],
    });
    assert.equal(res.status, 200);
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).includes('lined.bin'));
    const text = (await readFile(file, 'utf8')).trimEnd();
    const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(target)?.[1] as string;
    assert.ok(!text.includes(signature), 'the signature never reaches the log');
    const line = JSON.parse(text.split('\n').at(-1) as string) as Record<string, unknown>;
    assert.equal(line.path, target.replace(signature, 'REDACTED'));
    assert.deepEqual(Object.keys(line).slice(0, 8), [
      'time',
      'requestId',
      'remote',
      'method',
      'host',
      'path',
      'operation',
      'bucket',
    ]);
    assert.equal(line.operation, 'GetObject');
    assert.equal(line.status, 200);
  } finally {
    await kura.stop();
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Waits (at most 10 s) for a condition that a buffered writer or another process makes true. */
async function waitFor(ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met within 10 s');
}

describe('bytes, remote address and requests refused before routing', () => {
  let memory: MemoryOrigin;
  let k: TestKura;
  before(async () => {
    memory = await startMemoryOrigin();
    k = await startTestKura({ origin: memory.url, settings: { 'server.header_timeout': '1s' } });
    memory.put('kura-test', 'counted.bin', randomBytes(5_000));
  });
  after(async () => {
    await k.close();
    await memory.close();
  });

  /** A presigned GET of counted.bin as raw bytes. */
  async function getRequest(connection: 'keep-alive' | 'close'): Promise<string> {
    const target = await presign(k.url, { method: 'GET', path: s3Path('kura-test', 'counted.bin') });
    return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${k.port}\r\nConnection: ${connection}\r\n\r\n`;
  }

  test('bytesIn is every byte of each request, on a connection used twice', async () => {
    const first = await getRequest('keep-alive');
    const second = await getRequest('close');
    const from = k.access.length;
    const socket = connect({ host: '127.0.0.1', port: k.port });
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      received += c;
    });
    socket.write(first);
    // The whole first answer, its last byte included (a fill sends that one once its record is written):
    // a request sent before it would be pipelined, and counted with the first (request-path.ts).
    await waitFor(() => {
      const bodyAt = received.indexOf('\r\n\r\n');
      return bodyAt > 0 && received.length - (bodyAt + 4) === 5_000;
    });
    socket.write(second);
    await once(socket, 'close');
    assert.equal((received.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
    await waitFor(() => k.access.length === from + 2);
    assert.deepEqual(
      k.access.slice(from).map((r) => r.bytesIn),
      [Buffer.byteLength(first), Buffer.byteLength(second)],
    );
  });

  test('bytesIn of a PUT counts its head and body', async () => {
    const body = randomBytes(20_000);
    const put = await signRequest(k.url, { method: 'PUT', path: s3Path('kura-test', 'put.bin'), body });
    const head = [`PUT ${put.rawUrl} HTTP/1.1`];
    for (let i = 0; i < put.headers.length; i += 2) head.push(`${put.headers[i]}: ${put.headers[i + 1]}`);
    const request = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\nConnection: close\r\n\r\n`), body]);
    const from = k.access.length;
    assert.equal(parseResponse(await rawConversation(k.port, request))?.status, 200);
    await waitFor(() => k.access.length === from + 1);
    assert.equal(k.access[from]?.bytesIn, request.length);
  });

  test('parallel ranged GETs whose clients hang up mid-answer each have their remote address', async () => {
    memory.put('kura-test', 'large.bin', randomBytes(4 * 2 ** 20));
    const target = await presign(k.url, { method: 'GET', path: s3Path('kura-test', 'large.bin') });
    const from = k.access.length;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const socket = connect({ host: '127.0.0.1', port: k.port });
        socket.on('error', () => {});
        socket.write(
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${k.port}\r\nRange: bytes=${i * 1000}-\r\n\r\n`,
        );
        // The first bytes of the answer, then the client is gone.
        await once(socket, 'data');
        socket.destroy();
        await once(socket, 'close');
      }),
    );
    await waitFor(() => k.access.length === from + 12);
    assert.deepEqual(
      k.access.slice(from).map((r) => r.remote),
      Array(12).fill('127.0.0.1'),
    );
  });

  test('a header section too large and a header too slow are logged with their 400', async () => {
    const from = k.access.length;
    const big = `GET /kura-test/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`;
    const tooLarge = parseResponse(await rawConversation(k.port, big));
    assert.equal(tooLarge?.status, 400);
    assert.match(tooLarge?.body ?? '', /RequestHeaderSectionTooLarge/);
    const slow = 'GET /kura-test/k HTTP/1.1\r\nHost: 127.0.0.1\r\n';
    const timedOut = parseResponse(await rawConversation(k.port, slow));
    assert.equal(timedOut?.status, 400);
    assert.match(timedOut?.body ?? '', /RequestTimeout/);
    await waitFor(() => k.access.length === from + 2);
    const [large, late] = k.access.slice(from) as [AccessRecord, AccessRecord];
    assert.equal(large.status, 400);
    assert.equal(large.error, 'RequestHeaderSectionTooLarge');
    assert.equal(large.remote, '127.0.0.1');
    assert.ok(large.bytesIn > 64 * 1024, `bytesIn ${large.bytesIn}`);
    assert.ok(large.bytesOut > 0);
    assert.equal(late.status, 400);
    assert.equal(late.error, 'RequestTimeout');
    assert.equal(late.bytesIn, Buffer.byteLength(slow));
  });
});
