// PutObject through Kura against the verifying in-memory origin (which decodes aws-chunked bodies and
// checks their CRC32 trailer): the uploaded bytes are served from the volume afterwards with no body byte
// from the origin, and every failed or refused write leaves nothing committed and the old entry gone.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkClient, sdkGet, sdkHead } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { type RgwOrigin, startRgwOrigin } from '../support/rgw-origin.js';
import { s3Path, signRequest } from '../support/signing.js';
import { listFiles, originBodyBytesDuring } from '../support/volume-files.js';

const BUCKET = 'kura-test';
/** A legacy us-east-1 name: upper case and `_` are allowed in those. */
const LEGACY_BUCKET = 'Legacy_Bucket';
const KiB = 1024;

let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin({ buckets: [BUCKET, LEGACY_BUCKET] });
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'cache.write_max_object_size': '1MiB' },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** GET, a range GET and HEAD through Kura: all from the volume, matching the origin's object exactly. */
async function assertServedFromCache(key: string) {
  const client = sdkClient(kura.url);
  const stored = origin.get(BUCKET, key);
  assert.ok(stored, 'the origin has the object');
  const reads = await originBodyBytesDuring(origin, async () => {
    const whole = await sdkGet(client, BUCKET, key);
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(stored.body), 'whole body byte-exact');
    // The first read asks S3 with If-None-Match for the Last-Modified a PUT's answer lacks: a 304.
    assert.equal(whole.xCache, 'REVALIDATED');
    assert.equal(whole.etag, stored.etag);
    assert.equal(whole.headers['last-modified'], stored.lastModified.toUTCString());
    const ranged = await sdkGet(client, BUCKET, key, 'bytes=1000-70000');
    assert.equal(ranged.xCache, 'HIT');
    assert.ok(ranged.body.equals(stored.body.subarray(1000, 70001)), 'range byte-exact');
    const head = await sdkHead(client, BUCKET, key);
    assert.equal((head as { $headers?: Record<string, string> }).$headers?.['x-cache'], 'HIT');
    assert.equal(head.ContentLength, stored.body.length);
    assert.equal(head.ContentType, stored.contentType);
    assert.deepEqual(head.Metadata, stored.metadata);
  });
  assert.equal(reads.bodyBytes, 0, 'no body byte came from the origin');
  assert.deepEqual(reads.statuses, [304], 'one revalidation, answered 304');
}

describe('PutObject is cached as it streams to S3', () => {
  test('a Buffer body', async () => {
    const body = randomBytes(200 * KiB + 17);
    const client = sdkClient(kura.url);
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'put/buffer.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { owner: 'team-a' },
        CacheControl: 'max-age=60',
      }),
    );
    assert.ok(origin.get(BUCKET, 'put/buffer.bin')?.body.equals(body));
    await assertServedFromCache('put/buffer.bin');
    const again = await sdkGet(client, BUCKET, 'put/buffer.bin');
    assert.equal(again.xCache, 'HIT');
    assert.equal(again.headers['cache-control'], 'max-age=60');
  });

  test('a stream body, aws-chunked with the SDK default CRC32 trailer', async () => {
    const body = randomBytes(300 * KiB + 5);
    const client = sdkClient(kura.url, { sdkDefaults: true });
    const parts = [body.subarray(0, 100_000), body.subarray(100_000, 250_000), body.subarray(250_000)];
    const put = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'put/stream.bin',
        Body: Readable.from(parts),
        ContentLength: body.length,
      }),
    );
    assert.ok(put.ChecksumCRC32, 'the SDK sent a CRC32 trailer and S3 confirmed it');
    const framed = origin.requests.findLast((r) => r.method === 'PUT');
    assert.match(framed?.rawHeaders.join(' ') ?? '', /aws-chunked/, 'the body went aws-chunked');
    assert.ok(origin.get(BUCKET, 'put/stream.bin')?.body.equals(body));
    await assertServedFromCache('put/stream.bin');
    assert.equal((await kura.cacheStats()).writesNotCached.framing, 0);
  });

  test('an empty object', async () => {
    const client = sdkClient(kura.url);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/empty', Body: Buffer.alloc(0) }));
    const first = await sdkGet(client, BUCKET, 'put/empty');
    assert.equal(first.status, 200);
    assert.equal(first.body.length, 0);
    assert.equal(first.xCache, 'REVALIDATED');
  });

  test('a legacy bucket with upper case: kept by the PUT, and read from the cache', async () => {
    const body = randomBytes(100 * KiB + 3);
    const client = sdkClient(kura.url);
    await client.send(new PutObjectCommand({ Bucket: LEGACY_BUCKET, Key: 'legacy.bin', Body: body }));
    const reads = await originBodyBytesDuring(origin, async () => {
      const first = await sdkGet(client, LEGACY_BUCKET, 'legacy.bin');
      assert.equal(first.xCache, 'REVALIDATED');
      assert.ok(first.body.equals(body), 'byte-exact');
      const again = await sdkGet(client, LEGACY_BUCKET, 'legacy.bin', 'bytes=5-70004');
      assert.equal(again.xCache, 'HIT');
      assert.ok(again.body.equals(body.subarray(5, 70005)), 'range byte-exact');
    });
    assert.equal(reads.bodyBytes, 0, 'no body byte came from the origin');
  });
});

describe('failed and refused writes commit nothing', () => {
  /** Caches `body` as the current version of `key` through a GET, and checks it is a hit. */
  async function cacheOldVersion(key: string, body: Buffer) {
    origin.put(BUCKET, key, body);
    const client = sdkClient(kura.url);
    await sdkGet(client, BUCKET, key);
    assert.equal((await sdkGet(client, BUCKET, key)).xCache, 'HIT');
  }

  /** The next GET is answered by S3 (never the old cached bytes), and matches what the origin holds. */
  async function assertNotFromCache(key: string) {
    const read = await sdkGet(sdkClient(kura.url), BUCKET, key);
    assert.equal(read.xCache, 'MISS');
    assert.ok(read.body.equals(origin.get(BUCKET, key)?.body ?? Buffer.alloc(1)));
  }

  async function stagingLeft(): Promise<string[]> {
    return (await listFiles(kura.dir, 'tmp')).filter((f) => f.includes('/version-'));
  }

  test('a PUT that S3 rejects (a wrong Content-MD5)', async () => {
    await cacheOldVersion('fail/rejected', randomBytes(100 * KiB));
    const client = sdkClient(kura.url);
    const body = randomBytes(90 * KiB);
    await assert.rejects(
      client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'fail/rejected',
          Body: body,
          ContentMD5: createHash('md5').update('other bytes').digest('base64'),
        }),
      ),
      { name: 'BadDigest' },
    );
    await assertNotFromCache('fail/rejected');
    assert.deepEqual(await stagingLeft(), []);
  });

  test('a PUT whose client goes away halfway', async () => {
    await cacheOldVersion('fail/cut', randomBytes(100 * KiB));
    const url = new URL(kura.url);
    const signed = await signRequest(kura.url, {
      method: 'PUT',
      path: s3Path(BUCKET, 'fail/cut'),
      headers: { 'content-length': String(512 * KiB), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    const head = [`PUT ${signed.rawUrl} HTTP/1.1`];
    for (let i = 0; i < signed.headers.length; i += 2)
      head.push(`${signed.headers[i]}: ${signed.headers[i + 1]}`);
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    socket.write(randomBytes(200 * KiB));
    await sleep(200);
    socket.destroy();
    // Kura sees the client go, cuts the upload to S3 and drops the staging.
    for (let i = 0; i < 100 && (await stagingLeft()).length > 0; i++) await sleep(50);
    assert.deepEqual(await stagingLeft(), []);
    await assertNotFromCache('fail/cut');
  });

  test('a PUT larger than cache.write_max_object_size is forwarded, not cached, and invalidates', async () => {
    await cacheOldVersion('fail/large', randomBytes(10 * KiB));
    const body = randomBytes(1024 * KiB + 1);
    const before = (await kura.cacheStats()).writesNotCached['too-large'] ?? 0;
    await sdkClient(kura.url).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fail/large', Body: body }));
    assert.equal((await kura.cacheStats()).writesNotCached['too-large'], before + 1);
    assert.ok(origin.get(BUCKET, 'fail/large')?.body.equals(body));
    await assertNotFromCache('fail/large');
  });
});

describe('against Ceph RGW, whose 304 carries no Last-Modified', () => {
  // Each file that uses the run's shared RGW names its own bucket (test/support/rgw-origin.ts).
  const bucket = `kura-wt-put-${process.pid}`;
  let rgw: RgwOrigin;
  let viaRgw: TestKura;

  before(async () => {
    rgw = await startRgwOrigin({ buckets: [bucket] });
    viaRgw = await startTestKura({
      origin: rgw.url,
      settings: { 'cache.chunk_size': '64KiB', 'cache.write_max_object_size': '1MiB' },
    });
  });
  after(async () => {
    await viaRgw?.close();
    await rgw?.close();
  });

  test('the read-back of a PUT through Kura costs S3 no body byte, and answers as S3 does', async () => {
    const body = randomBytes(200 * KiB + 17);
    const client = sdkClient(viaRgw.url);
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'put/read-back.bin',
        Body: body,
        ContentType: 'application/x-test',
      }),
    );
    const direct = await sdkGet(sdkClient(rgw.rgw.endpoint), bucket, 'put/read-back.bin');
    const from = rgw.requests.length;
    const whole = await sdkGet(client, bucket, 'put/read-back.bin');
    const ranged = await sdkGet(client, bucket, 'put/read-back.bin', 'bytes=1000-70000');
    const head = await sdkHead(client, bucket, 'put/read-back.bin');
    const asked = rgw.requests.slice(from);

    assert.ok(whole.body.equals(body), 'whole body byte-exact');
    assert.equal(whole.xCache, 'REVALIDATED');
    assert.equal(whole.etag, direct.etag);
    assert.equal(whole.headers['last-modified'], direct.headers['last-modified']);
    assert.equal(whole.headers['content-type'], 'application/x-test');
    assert.equal(ranged.xCache, 'HIT');
    assert.ok(ranged.body.equals(body.subarray(1000, 70001)), 'range byte-exact');
    assert.equal((head as { $headers?: Record<string, string> }).$headers?.['x-cache'], 'HIT');
    assert.equal(head.LastModified?.getTime(), new Date(String(direct.headers['last-modified'])).getTime());
    // Only conditional GETs reached S3: 304s, and 412s whose bodies are S3's short error documents.
    assert.ok(asked.length > 0 && asked.length <= 3, `${asked.length} requests reached S3`);
    for (const r of asked) {
      assert.equal(r.method, 'GET');
      assert.ok(r.status === 304 || r.status === 412, `S3 answered ${r.status}`);
    }
    assert.equal(
      asked.filter((r) => r.status === 304).reduce((n, r) => n + r.bodyBytesSent, 0),
      0,
    );

    const again = rgw.requests.length;
    assert.equal((await sdkGet(client, bucket, 'put/read-back.bin')).xCache, 'HIT');
    assert.equal(rgw.requests.length, again, 'a hit asks S3 nothing');
  });
});

describe('a 304 without Last-Modified: the upload record learns it at no body cost', () => {
  // As RGW's and s3rver's 304s; the If-Unmodified-Since search is src/cache/read/last-modified.ts.
  let bare: MemoryOrigin;
  let viaBare: TestKura;
  before(async () => {
    bare = await startMemoryOrigin({ bareNotModified: true });
    viaBare = await startTestKura({ origin: bare.url, settings: { 'cache.chunk_size': '64KiB' } });
  });
  after(async () => {
    await viaBare?.close();
    await bare?.close();
  });

  for (const [name, backdateSec] of [
    ['read back right away', 0],
    ['Last-Modified 100 s before the upload was committed', 100],
  ] as const) {
    test(name, async () => {
      const key = `bare/${backdateSec}.bin`;
      const body = randomBytes(100 * KiB);
      const client = sdkClient(viaBare.url);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      const stored = bare.get(BUCKET, key);
      assert.ok(stored);
      // The same bytes (so the same ETag), stored as if written earlier.
      const lastModified = new Date(stored.lastModified.getTime() - backdateSec * 1000);
      bare.put(BUCKET, key, body, { lastModified });
      const seen = await originBodyBytesDuring(bare, async () => {
        const r = await sdkGet(client, BUCKET, key);
        assert.equal(r.xCache, 'REVALIDATED');
        assert.ok(r.body.equals(body));
        assert.equal(r.headers['last-modified'], lastModified.toUTCString());
      });
      assert.equal(seen.statuses[0], 304);
      assert.ok(seen.statuses.slice(1).every((s) => s === 304 || s === 412));
      assert.ok(seen.statuses.length <= (backdateSec === 0 ? 3 : 17), `${seen.statuses.length} requests`);
      assert.equal(
        seen.requests.filter((r) => r.status === 304).reduce((n, r) => n + r.bodyBytesSent, 0),
        0,
      );
      const head = await sdkHead(client, BUCKET, key);
      assert.equal((head as { $headers?: Record<string, string> }).$headers?.['x-cache'], 'HIT');
      assert.equal(head.LastModified?.getTime(), Math.floor(lastModified.getTime() / 1000) * 1000);
    });
  }
});
