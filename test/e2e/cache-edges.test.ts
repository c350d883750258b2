// The read cache at its edges: cut answers, objects that change under a partial read, S3 failing with
// stale-if-error, expired presigned URLs, DeleteObjects and CopyObject invalidation, rules (separate GET
// and HEAD TTLs included), /stats.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CopyObjectCommand, DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { presignedGet, sdkClient, sdkGet } from '../support/cache-client.js';
import { freePort, startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { startTestOrigin } from '../support/origin.js';
import { presign, s3Path, sendRaw } from '../support/signing.js';

const BUCKET = 'kura-test';
const CHUNK = 64 * 1024;

let origin: MemoryOrigin;
let kura: TestKura;
let rulesDir: string;

before(async () => {
  origin = await startMemoryOrigin();
  rulesDir = await mkdtemp(join(tmpdir(), 'kura-rules-'));
  const rules = join(rulesDir, 'rules.yaml');
  await writeFile(
    rules,
    [
      'rules:',
      '  - match: "kura-test/nocache/**"',
      '    read: false',
      '  - match: "kura-test/stale/**"',
      '    get_ttl: 200ms',
      '    stale_if_error: 1h',
      '  - match: "kura-test/head-ttl-short/**"',
      '    get_ttl: 1d',
      '    head_ttl: 300ms',
      '  - match: "kura-test/get-ttl-short/**"',
      '    get_ttl: 300ms',
      '    head_ttl: 1d',
      '',
    ].join('\n'),
  );
  kura = await startTestKura({
    origin: origin.url,
    settings: { 'cache.chunk_size': '64KiB', 'cache.rules': rules, 'admin.port': await freePort() },
  });
});
after(async () => {
  await kura?.close();
  await origin?.close();
  await rm(rulesDir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as { path?: string }).path ?? '', e.name));
  }
  return out;
}

test('an answer cut short commits only the whole chunks it brought', async () => {
  const body = randomBytes(4 * CHUNK);
  const stored = origin.put(BUCKET, 'edges/cut.bin', body);
  origin.injectFault({ kind: 'truncate', afterBytes: 2 * CHUNK + 100 });
  const cut = await presignedGet(kura.url, BUCKET, 'edges/cut.bin').catch((err: Error) => err);
  assert.ok(cut instanceof Error || !cut.body.equals(body), 'the client does not get a whole answer');
  // The first test of this file: the volume holds this object's chunks only. Chunk writes finish after
  // the answer; on a busy machine that takes a while.
  const chunkNames = async () => (await filesUnder(join(kura.dir, 'data'))).map((f) => basename(f)).sort();
  let names = await chunkNames();
  for (let i = 0; i < 100 && (names.length < 2 || kura.cache.budget.used > 0); i++) {
    await sleep(50);
    names = await chunkNames();
  }
  assert.deepEqual(names, ['0', '1'], `chunk files: ${names.join(', ')}`);
  // The rest comes from S3 on the next read, and every byte is right.
  const again = await presignedGet(kura.url, BUCKET, 'edges/cut.bin');
  assert.equal(again.status, 200);
  assert.equal(again.etag, stored.etag);
  assert.ok(again.body.equals(body));
});

test('an object that changed under a partial read (412) is served from a clean fetch', async () => {
  const v1 = randomBytes(3 * CHUNK);
  origin.put(BUCKET, 'edges/changing.bin', v1);
  const first = await presignedGet(kura.url, BUCKET, 'edges/changing.bin', { range: `bytes=0-${CHUNK - 1}` });
  assert.ok(first.body.equals(v1.subarray(0, CHUNK)));
  const v2 = randomBytes(3 * CHUNK);
  origin.put(BUCKET, 'edges/changing.bin', v2);
  const from = origin.requests.length;
  const r = await presignedGet(kura.url, BUCKET, 'edges/changing.bin', { range: `bytes=100-${2 * CHUNK}` });
  assert.equal(r.status, 206);
  assert.ok(r.body.equals(v2.subarray(100, 2 * CHUNK + 1)), 'the new bytes, none of the old');
  const statuses = origin.requests.slice(from).map((q) => q.status);
  assert.deepEqual(statuses, [412, 206], 'an If-Match fetch met 412, then one clean fetch');
});

test('stale-if-error: past the TTL, a 5xx from S3 is answered from the cache', async () => {
  const body = randomBytes(2 * CHUNK);
  origin.put(BUCKET, 'stale/object.bin', body);
  await sdkGet(sdkClient(kura.url), BUCKET, 'stale/object.bin');
  await sleep(250);
  origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown' });
  const r = await sdkGet(sdkClient(kura.url), BUCKET, 'stale/object.bin');
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(body));
  assert.equal(kura.cache.stats.revalidations['stale-served'], 1);
});

test('an expired presigned URL is never answered from cache', async () => {
  origin.put(BUCKET, 'edges/presigned.bin', randomBytes(100));
  const path = s3Path(BUCKET, 'edges/presigned.bin');
  const host = ['Host', new URL(kura.url).host];
  // X-Amz-Date has whole seconds: signed a second ago for 4 s, the URL expires 2 to 3 s from now.
  const target = await presign(
    kura.url,
    { method: 'GET', path },
    { expiresIn: 4, signingDate: new Date(Date.now() - 1000) },
  );
  assert.equal((await sendRaw(kura.url, { method: 'GET', rawUrl: target, headers: host })).status, 200);
  await sleep(3100);
  const expired = await sendRaw(kura.url, { method: 'GET', rawUrl: target, headers: host });
  assert.equal(expired.status, 403);
  assert.equal(expired.headers['x-cache'], 'BYPASS');
});

test('DeleteObjects drops every listed key; CopyObject drops its destination', async () => {
  // s3rver implements both writes; the in-memory origin does not.
  const s3rver = await startTestOrigin();
  const k = await startTestKura({ origin: s3rver.url });
  try {
    const client = sdkClient(k.url);
    const keys = ['multi/a.txt', 'multi/b&c <d>.txt', 'multi/dest.txt', 'multi/source.txt'];
    for (const key of keys) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `old ${key}` }));
      await sdkGet(client, BUCKET, key);
      assert.equal((await sdkGet(client, BUCKET, key)).xCache, 'HIT', key);
    }
    const del = await client.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'multi/a.txt' }, { Key: 'multi/b&c <d>.txt' }] },
      }),
    );
    assert.equal(del.Deleted?.length, 2);
    for (const key of ['multi/a.txt', 'multi/b&c <d>.txt']) {
      assert.equal((await sdkGet(client, BUCKET, key)).status, 404, key);
    }
    await client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'multi/dest.txt',
        CopySource: `${BUCKET}/multi/source.txt`,
      }),
    );
    const copied = await sdkGet(client, BUCKET, 'multi/dest.txt');
    assert.equal(copied.body.toString(), 'old multi/source.txt');
    assert.equal(copied.xCache, 'MISS');
  } finally {
    await k.close();
    await s3rver.close();
  }
});

test('a rule with read: false passes every read, counted as `rule`', async () => {
  origin.put(BUCKET, 'nocache/object.bin', randomBytes(100));
  for (let i = 0; i < 2; i++) {
    const r = await presignedGet(kura.url, BUCKET, 'nocache/object.bin');
    assert.equal(r.xCache, 'BYPASS');
  }
  assert.equal(kura.cache.stats.bypasses.rule, 2);
});

test('/stats counts the hits, misses and rule bypasses of the traffic sent', async () => {
  // A Kura of its own: the figures are exactly this test's traffic, whatever ran before.
  const k = await startTestKura({
    origin: origin.url,
    settings: {
      'cache.chunk_size': '64KiB',
      'cache.rules': join(rulesDir, 'rules.yaml'),
      'admin.port': await freePort(),
    },
  });
  try {
    const body = randomBytes(2 * CHUNK + 7);
    origin.put(BUCKET, 'edges/counted.bin', body);
    origin.put(BUCKET, 'nocache/counted.bin', randomBytes(10));
    const reads = [
      await presignedGet(k.url, BUCKET, 'edges/counted.bin'),
      await presignedGet(k.url, BUCKET, 'edges/counted.bin'),
      await presignedGet(k.url, BUCKET, 'edges/counted.bin', { range: 'bytes=10-19' }),
      await presignedGet(k.url, BUCKET, 'nocache/counted.bin'),
    ];
    assert.deepEqual(
      reads.map((r) => r.xCache),
      ['MISS', 'HIT', 'HIT', 'BYPASS'],
    );
    const res = await fetch(`http://127.0.0.1:${k.adminPort}/stats`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const { cache } = (await res.json()) as {
      cache: {
        hits: number;
        misses: number;
        bypasses: Record<string, number>;
        bytes: { fromCache: number };
      };
    };
    assert.equal(cache.misses, 1);
    assert.equal(cache.hits, 2);
    assert.equal(cache.bypasses.rule, 1);
    assert.equal(cache.bytes.fromCache, body.length + 10);
  } finally {
    await k.close();
  }
});

/** Origin requests for one key while `fn` ran, as `METHOD status`. */
async function askedOf(key: string, fn: () => Promise<unknown>): Promise<string[]> {
  const from = origin.requests.length;
  await fn();
  return origin.requests
    .slice(from)
    .filter((r) => r.rawUrl.split('?')[0] === s3Path(BUCKET, key))
    .map((r) => `${r.method} ${r.status}`);
}

async function headThrough(key: string) {
  const rawUrl = await presign(kura.url, { method: 'HEAD', path: s3Path(BUCKET, key) });
  const res = await sendRaw(kura.url, { method: 'HEAD', rawUrl, headers: ['Host', new URL(kura.url).host] });
  assert.equal(res.status, 200);
  return res;
}

test('HEAD answers follow head_ttl and GETs get_ttl, each on its own clock', async () => {
  for (const prefix of ['head-ttl-short', 'get-ttl-short']) {
    origin.put(BUCKET, `${prefix}/object.bin`, randomBytes(CHUNK));
    assert.equal((await presignedGet(kura.url, BUCKET, `${prefix}/object.bin`)).xCache, 'MISS');
  }
  await sleep(400);
  // head_ttl 300ms has passed, get_ttl 1d has not: HEAD asks S3, GET does not.
  assert.deepEqual(
    await askedOf('head-ttl-short/object.bin', () => headThrough('head-ttl-short/object.bin')),
    ['HEAD 304'],
  );
  assert.deepEqual(
    await askedOf('head-ttl-short/object.bin', async () => {
      assert.equal((await presignedGet(kura.url, BUCKET, 'head-ttl-short/object.bin')).xCache, 'HIT');
    }),
    [],
  );
  // get_ttl 300ms has passed, head_ttl 1d has not: HEAD is answered from the record, GET asks S3.
  assert.deepEqual(
    await askedOf('get-ttl-short/object.bin', async () => {
      assert.equal((await headThrough('get-ttl-short/object.bin')).headers['x-cache'], 'HIT');
    }),
    [],
  );
  assert.deepEqual(
    await askedOf('get-ttl-short/object.bin', async () => {
      assert.equal((await presignedGet(kura.url, BUCKET, 'get-ttl-short/object.bin')).xCache, 'REVALIDATED');
    }),
    ['GET 304'],
  );
});
