// The read cache against the verifying in-memory origin: hits without origin requests, TTL expiry and
// revalidation, changed objects, signatures that S3 refuses, bypasses, corrupt chunk files, partNumber
// and invalidation by writes. Every body is compared with the origin's bytes.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { presignedGet, sdkClient, sdkGet, sdkHead } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { originIsRgw } from '../support/origin.js';
import { type RgwOrigin, startRgwOrigin } from '../support/rgw-origin.js';
import { s3Path, sendRaw, signRequest } from '../support/signing.js';

const BUCKET = 'kura-test';
const CHUNK = 64 * 1024;

let origin: MemoryOrigin | RgwOrigin;
let kura: TestKura;

before(async () => {
  // KURA_TEST_ORIGIN=rgw (test/e2e/rgw-suite.test.ts): the same reads against Ceph RGW.
  origin = originIsRgw() ? await startRgwOrigin() : await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'cache.get_ttl': '1d', 'cache.head_ttl': '1m' },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** Origin requests for one key made while `fn` ran. */
async function originRequestsDuring(key: string, fn: () => Promise<unknown>) {
  const from = origin.requests.length;
  await fn();
  return origin.requests.slice(from).filter((r) => r.rawUrl.split('?')[0]?.endsWith(key));
}

/** Every chunk file of the volume, full and partial. */
async function chunkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(join(dir, 'data'));
  return out;
}

describe('hits', () => {
  test('a second identical GET is a HIT with no origin request, byte-exact', async () => {
    const client = sdkClient(kura.url);
    const body = randomBytes(3 * CHUNK + 123);
    await origin.put(BUCKET, 'hits/whole.bin', body, {
      metadata: { team: 'data' },
      contentType: 'application/x-test',
    });
    const first = await sdkGet(client, BUCKET, 'hits/whole.bin');
    assert.equal(first.xCache, 'MISS');
    assert.ok(first.body.equals(body));
    const asked = await originRequestsDuring('hits/whole.bin', async () => {
      const second = await sdkGet(client, BUCKET, 'hits/whole.bin');
      assert.equal(second.status, 200);
      assert.equal(second.xCache, 'HIT');
      assert.ok(second.body.equals(body));
      assert.equal(second.etag, first.etag);
      assert.equal(second.headers['content-type'], 'application/x-test');
      assert.equal(second.headers['x-amz-meta-team'], 'data');
      assert.equal(second.headers['accept-ranges'], 'bytes');
      assert.equal(Number(second.headers['content-length']), body.length);
    });
    assert.deepEqual(asked, []);
  });

  test('HEAD within its TTL is answered from the record', async () => {
    const client = sdkClient(kura.url);
    await origin.put(BUCKET, 'hits/head.bin', randomBytes(1000), { metadata: { a: '1' } });
    const first = await sdkHead(client, BUCKET, 'hits/head.bin');
    const asked = await originRequestsDuring('hits/head.bin', async () => {
      const second = await sdkHead(client, BUCKET, 'hits/head.bin');
      assert.equal(second.ETag, first.ETag);
      assert.equal(second.ContentLength, 1000);
      assert.deepEqual(second.Metadata, { a: '1' });
      assert.equal((second as { $headers?: Record<string, string> }).$headers?.['x-cache'], 'HIT');
    });
    assert.deepEqual(asked, []);
  });

  test('client conditionals are answered from a fresh record: 304 and 412', async () => {
    const body = randomBytes(500);
    const stored = await origin.put(BUCKET, 'hits/cond.bin', body);
    await presignedGet(kura.url, BUCKET, 'hits/cond.bin');
    const asked = await originRequestsDuring('hits/cond.bin', async () => {
      const notModified = await presignedGet(kura.url, BUCKET, 'hits/cond.bin', {
        headers: ['If-None-Match', stored.etag],
      });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.body.length, 0);
      const failed = await presignedGet(kura.url, BUCKET, 'hits/cond.bin', {
        headers: ['If-Match', '"other"'],
      });
      assert.equal(failed.status, 412);
      const ok = await presignedGet(kura.url, BUCKET, 'hits/cond.bin', {
        headers: ['If-Match', stored.etag],
      });
      assert.equal(ok.status, 200);
      assert.ok(ok.body.equals(body));
    });
    assert.deepEqual(asked, []);
  });
});

describe('freshness', () => {
  let short: TestKura;
  before(async () => {
    short = await startTestKura({
      origin: origin.url,
      settings: { 'cache.chunk_size': '64KiB', 'cache.get_ttl': '300ms', 'cache.head_ttl': '300ms' },
    });
  });
  after(() => short?.close());

  test('past the TTL one conditional request gets 304; a changed object is served new and the old version is gone', async () => {
    const client = sdkClient(short.url);
    const v1 = randomBytes(2 * CHUNK + 5);
    await origin.put(BUCKET, 'fresh/object.bin', v1);
    assert.equal((await sdkGet(client, BUCKET, 'fresh/object.bin')).xCache, 'MISS');
    await sleep(350);
    const revalidation = await originRequestsDuring('fresh/object.bin', async () => {
      const r = await sdkGet(client, BUCKET, 'fresh/object.bin');
      assert.equal(r.xCache, 'REVALIDATED');
      assert.ok(r.body.equals(v1));
    });
    assert.equal(revalidation.length, 1);
    assert.equal(revalidation[0]?.status, 304);
    const inm = revalidation[0]?.rawHeaders.findIndex((h) => h.toLowerCase() === 'if-none-match') ?? -1;
    assert.ok(inm >= 0, 'the revalidation carries If-None-Match');

    const oldDirs = new Set((await chunkFiles(short.dir)).map((f) => join(f, '..')));
    const v2 = randomBytes(CHUNK + 9);
    await origin.put(BUCKET, 'fresh/object.bin', v2);
    await sleep(350);
    const changed = await sdkGet(client, BUCKET, 'fresh/object.bin');
    assert.ok(changed.body.equals(v2), 'the new version is served');
    const again = await sdkGet(client, BUCKET, 'fresh/object.bin');
    // From the cache: a HIT, or on a slow machine where the 300 ms TTL has passed again, a 304 from S3.
    assert.ok(['HIT', 'REVALIDATED'].includes(again.xCache ?? ''), `again: ${again.xCache}`);
    assert.ok(again.body.equals(v2));
    // The old version's directory is removed (in the background) once the record names the new one.
    for (let i = 0; i < 50; i++) {
      const live = new Set((await chunkFiles(short.dir)).map((f) => join(f, '..')));
      if ([...oldDirs].every((d) => !live.has(d))) break;
      await sleep(20);
    }
    const live = new Set((await chunkFiles(short.dir)).map((f) => join(f, '..')));
    assert.ok(
      [...oldDirs].every((d) => !live.has(d)),
      'old version directory still there',
    );
  });

  test('a tampered signature never gets cached bytes once the entry is stale', async () => {
    const body = randomBytes(1000);
    await origin.put(BUCKET, 'fresh/tamper.bin', body);
    const path = s3Path(BUCKET, 'fresh/tamper.bin');
    const good = await signRequest(short.url, { method: 'GET', path });
    assert.equal((await sendRaw(short.url, good)).status, 200);
    await sleep(350);
    const bad = await signRequest(short.url, { method: 'GET', path }, { secretAccessKey: 'wrong' });
    const r = await sendRaw(short.url, bad);
    assert.equal(r.status, 403);
    assert.ok(!r.body.includes(body.subarray(0, 32)), 'no cached bytes in the answer');
    // The cache is kept: a good request still revalidates (304) and is served.
    const again = await sendRaw(short.url, await signRequest(short.url, { method: 'GET', path }));
    assert.equal(again.status, 200);
    assert.equal(again.headers['x-cache'], 'REVALIDATED');
    assert.ok(again.body.equals(body));
  });

  test('TTL 0 sends every request to S3; a tampered signature gets 403', async () => {
    const zero = await startTestKura({
      origin: origin.url,
      settings: { 'cache.chunk_size': '64KiB', 'cache.get_ttl': '0s', 'cache.head_ttl': '0s' },
    });
    try {
      const body = randomBytes(4 * CHUNK);
      await origin.put(BUCKET, 'fresh/zero.bin', body);
      const path = s3Path(BUCKET, 'fresh/zero.bin');
      await sendRaw(zero.url, await signRequest(zero.url, { method: 'GET', path }));
      const asked = await originRequestsDuring('fresh/zero.bin', async () => {
        const r = await sendRaw(zero.url, await signRequest(zero.url, { method: 'GET', path }));
        assert.equal(r.headers['x-cache'], 'REVALIDATED');
        assert.ok(r.body.equals(body));
      });
      assert.deepEqual(
        asked.map((r) => [r.status, r.bodyBytesSent]),
        [[304, 0]],
      );
      const bad = await sendRaw(
        zero.url,
        await signRequest(zero.url, { method: 'GET', path }, { secretAccessKey: 'wrong' }),
      );
      assert.equal(bad.status, 403);
      assert.ok(!bad.body.includes(body.subarray(0, 32)));
    } finally {
      await zero.close();
    }
  });
});

describe('damaged volume', () => {
  for (const damage of ['flipped byte', 'truncated'] as const) {
    test(`a ${damage} chunk file is detected, served from the origin, and repaired`, async () => {
      const client = sdkClient(kura.url);
      const key = `damage/${damage.replace(' ', '-')}.bin`;
      const body = randomBytes(2 * CHUNK);
      await origin.put(BUCKET, key, body);
      const before = new Set(await chunkFiles(kura.dir));
      await sdkGet(client, BUCKET, key);
      let files: string[] = [];
      for (let i = 0; i < 50 && files.length < 2; i++) {
        files = (await chunkFiles(kura.dir)).filter((f) => !before.has(f));
        await sleep(10);
      }
      assert.equal(files.length, 2, 'two chunk files written');
      const victim = files.sort()[0] as string;
      if (damage === 'truncated') await truncate(victim, (await stat(victim)).size - 1);
      else {
        const bytes = await readFile(victim);
        bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
        await writeFile(victim, bytes);
      }
      await kura.dropRam();
      const corruptBefore = (await kura.cacheStats()).corruptChunks;
      const r = await sdkGet(client, BUCKET, key);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body), 'served byte-exact despite the damage');
      assert.equal(r.xCache, 'PARTIAL', 'S3 completed the answer: not a HIT');
      assert.equal((await kura.cacheStats()).corruptChunks, corruptBefore + 1);
      // Repaired: the next read is a hit again, from a chunk file that decodes.
      await kura.dropRam();
      let hit: Awaited<ReturnType<typeof sdkGet>> | undefined;
      for (let i = 0; i < 50; i++) {
        await sleep(20);
        hit = await presignedGet(kura.url, BUCKET, key);
        if (hit.xCache === 'HIT') break;
      }
      assert.equal(hit?.xCache, 'HIT');
      assert.ok(hit?.body.equals(body));
      assert.equal((await kura.cacheStats()).corruptChunks, corruptBefore + 1);
    });
  }
});

describe('wrong file types on the volume are removed and the object cached again', () => {
  const shapes = {
    'a directory where a chunk file belongs': {
      plant: async (files: string[]) => {
        const chunk = files.filter((f) => f.includes('/data/')).sort()[1] as string;
        await rm(chunk);
        await mkdir(join(chunk, 'inside'), { recursive: true });
        return chunk;
      },
      xCache: 'PARTIAL',
      becomes: 'file',
    },
    'a file where the version directory belongs': {
      plant: async (files: string[]) => {
        const dir = dirname(files.find((f) => f.includes('/data/')) as string);
        await rm(dir, { recursive: true });
        await writeFile(dir, 'not a directory');
        return dir;
      },
      xCache: 'MISS',
      becomes: 'directory',
    },
    'a directory where the record file belongs': {
      plant: async (files: string[]) => {
        const record = files.find((f) => f.endsWith('.json')) as string;
        await rm(record);
        await mkdir(join(record, 'inside'), { recursive: true });
        return record;
      },
      xCache: 'MISS',
      becomes: 'file',
    },
  } as const;
  for (const [shape, { plant, xCache, becomes }] of Object.entries(shapes)) {
    test(shape, async () => {
      const client = sdkClient(kura.url);
      const key = `wrong-type/${shape.replaceAll(' ', '-')}.bin`;
      const body = randomBytes(2 * CHUNK);
      await origin.put(BUCKET, key, body);
      const before = new Set(await volumeFiles(kura.dir));
      assert.equal((await sdkGet(client, BUCKET, key)).xCache, 'MISS');
      let files: string[] = [];
      for (let i = 0; i < 100 && files.length < 3; i++) {
        files = (await volumeFiles(kura.dir)).filter((f) => !before.has(f));
        await sleep(10);
      }
      assert.equal(files.length, 3, 'a record and two chunks');
      const planted = await plant(files);
      await kura.dropRam();

      const r = await sdkGet(client, BUCKET, key);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body), 'served byte-exact');
      assert.equal(r.xCache, xCache);
      // Removed by that read, so a fill caches again: a HIT within a few reads, from the volume.
      let hit: Awaited<ReturnType<typeof sdkGet>> | undefined;
      for (let i = 0; i < 50 && hit?.xCache !== 'HIT'; i++) {
        await sleep(20);
        await kura.dropRam();
        hit = await sdkGet(client, BUCKET, key);
        assert.ok(hit.body.equals(body));
      }
      assert.equal(hit?.xCache, 'HIT');
      const st = await stat(planted);
      assert.equal(
        becomes === 'file' ? st.isFile() : st.isDirectory(),
        true,
        `${planted} is a ${becomes} again`,
      );
    });
  }
});

/** Every record and chunk file of the volume. */
async function volumeFiles(dir: string): Promise<string[]> {
  return [...(await chunkFiles(dir)), ...(await walkFiles(join(dir, 'objects')))].filter(
    (f) => !f.endsWith('.gone'),
  );
}

async function walkFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(root);
  return out;
}

describe('partNumber and bypasses', () => {
  // RGW 16.2 ignores partNumber on GET and HEAD (docs/testing.md): through Kura as direct, the whole object.
  if (originIsRgw()) {
    test('partNumber GET against RGW 16.2, which ignores it: the whole object through Kura as direct', async () => {
      const body = randomBytes(100_000);
      await origin.put(BUCKET, 'parts/rgw.bin', body);
      const target = s3Path(BUCKET, 'parts/rgw.bin');
      for (const url of [(origin as RgwOrigin).rgw.endpoint, kura.url]) {
        const r = await sendRaw(
          url,
          await signRequest(url, { method: 'GET', path: target, query: { partNumber: '2' } }),
        );
        assert.equal(r.status, 200, url);
        assert.equal(r.headers['x-amz-mp-parts-count'], undefined, url);
        assert.ok(r.body.equals(body), url);
      }
    });
  }
  // The memory origin implements partNumber as S3 does.
  if (!originIsRgw())
    test('partNumber GET: cached with its Content-Range and parts count; HEAD ?partNumber passes and leaves the record', async () => {
      const parts = [5 * 1024 * 1024, 5 * 1024 * 1024, 1000];
      const body = randomBytes(parts.reduce((a, b) => a + b));
      await origin.put(BUCKET, 'parts/multi.bin', body, { partSizes: parts });
      const target = `${s3Path(BUCKET, 'parts/multi.bin')}`;
      const get = async () =>
        sendRaw(
          kura.url,
          await signRequest(kura.url, { method: 'GET', path: target, query: { partNumber: '2' } }),
        );
      const first = await get();
      assert.equal(first.status, 206);
      assert.equal(first.headers['x-cache'], 'MISS');
      const asked = await originRequestsDuring('parts/multi.bin', async () => {
        const second = await get();
        assert.equal(second.status, 206);
        assert.equal(second.headers['x-cache'], 'HIT');
        assert.equal(
          second.headers['content-range'],
          `bytes ${parts[0]}-${(parts[0] as number) * 2 - 1}/${body.length}`,
        );
        assert.equal(second.headers['x-amz-mp-parts-count'], '3');
        assert.ok(second.body.equals(body.subarray(parts[0], (parts[0] as number) * 2)));
      });
      assert.deepEqual(asked, []);

      const recordFiles = async () => {
        const out: string[] = [];
        const walk = async (d: string): Promise<void> => {
          for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
            const p = join(d, e.name);
            if (e.isDirectory()) await walk(p);
            else out.push(`${p}:${await readFile(p, 'utf8')}`);
          }
        };
        await walk(join(kura.dir, 'objects'));
        return out.sort();
      };
      const recordsBefore = await recordFiles();
      const head = await sendRaw(
        kura.url,
        await signRequest(kura.url, { method: 'HEAD', path: target, query: { partNumber: '1' } }),
      );
      assert.equal(head.status, 206);
      assert.equal(head.headers['x-cache'], 'BYPASS');
      assert.deepEqual(await recordFiles(), recordsBefore, 'HEAD ?partNumber left every record as it was');
    });

  const bypasses: [string, { headers?: string[]; query?: Record<string, string> }][] = [
    ['sse-c', { headers: ['x-amz-server-side-encryption-customer-algorithm', 'AES256'] }],
    ['version-id', { query: { versionId: 'v1' } }],
  ];
  for (const [reason, spec] of bypasses) {
    test(`${reason} requests are bypassed and counted`, async () => {
      await origin.put(BUCKET, `bypass/${reason}.bin`, randomBytes(100));
      const before = (await kura.cacheStats()).bypasses[reason] ?? 0;
      for (let i = 0; i < 2; i++) {
        const r = await presignedGet(kura.url, BUCKET, `bypass/${reason}.bin`, spec);
        assert.equal(r.headers['x-cache'], 'BYPASS');
      }
      assert.equal((await kura.cacheStats()).bypasses[reason], before + 2);
    });
  }
});

describe('writes through Kura invalidate', () => {
  test('PutObject through Kura replaces the cached object; DeleteObject drops it', async () => {
    const client = sdkClient(kura.url);
    const key = 'writes/object.txt';
    await origin.put(BUCKET, key, Buffer.from('version one'));
    assert.equal((await sdkGet(client, BUCKET, key)).body.toString(), 'version one');
    assert.equal((await sdkGet(client, BUCKET, key)).xCache, 'HIT');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'version two' }));
    const after = await sdkGet(client, BUCKET, key);
    assert.equal(after.body.toString(), 'version two');
    // The upload's own bytes, confirmed by a 304 (write-through: docs/caching.md).
    assert.equal(after.xCache, 'REVALIDATED');
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal((await sdkGet(client, BUCKET, key)).status, 404);
  });
});
