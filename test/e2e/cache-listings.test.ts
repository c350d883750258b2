// Listings kept where list_ttl says so (docs/caching.md, "Listings"): the same query by the same
// credential is answered from memory with S3's own bytes, and never after a write through any Kura
// sharing the volume, nor to another credential, nor past its TTL. The origin verifies every signature
// and its request log shows which LISTs reached it.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sdkClient } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { presign, type RawResponse, type SignerOptions, sendRaw, signRequest } from '../support/signing.js';

const BUCKET = 'kura-test';
const OTHER = { accessKeyId: 'OTHERKEY', secretAccessKey: 'OTHERSECRET' };

let origin: MemoryOrigin;

before(async () => {
  origin = await startMemoryOrigin({ users: [{ ...OTHER, buckets: ['other-bucket'] }] });
  for (let i = 0; i < 5; i++) origin.put(BUCKET, `lake/day=${i}/part-0.parquet`, Buffer.alloc(100 + i, i));
  origin.put(BUCKET, 'other/a.bin', Buffer.from('a'));
});
after(() => origin?.close());

/** ListObjectsV2 signed in the Authorization header, as the SDKs send it. */
async function list(
  baseUrl: string,
  query: Record<string, string>,
  signer: SignerOptions = {},
): Promise<RawResponse> {
  const signed = await signRequest(
    baseUrl,
    { method: 'GET', path: `/${BUCKET}`, query: { 'list-type': '2', ...query } },
    signer,
  );
  return sendRaw(baseUrl, signed);
}

/** The LISTs of the bucket the origin saw since `from`. */
function listsSince(from: number): number {
  return origin.requests.slice(from).filter((r) => r.method === 'GET' && r.rawUrl.includes('list-type=2'))
    .length;
}

function keysOf(res: RawResponse): string[] {
  return [...res.body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] as string);
}

describe('with list_ttl', () => {
  let kura: TestKura;
  before(async () => {
    kura = await startTestKura({ origin: origin.url, settings: { 'cache.list_ttl': '5m' } });
  });
  after(() => kura?.close());

  test('the same listing again is a HIT with the bytes and headers S3 gave', async () => {
    const from = origin.requests.length;
    const query = { prefix: 'lake/', delimiter: '/' };
    const first = await list(kura.url, query);
    const second = await list(kura.url, query);
    const direct = await list(origin.url, query);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], 'MISS');
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-cache'], 'HIT');
    assert.ok(second.body.equals(direct.body), 'byte for byte what S3 answers');
    assert.ok(second.body.equals(first.body));
    assert.equal(second.headers['content-type'], direct.headers['content-type']);
    assert.equal(second.headers['content-length'], String(direct.body.length));
    assert.notEqual(second.headers['x-amz-request-id'], first.headers['x-amz-request-id']);
    assert.match(String(second.headers.age), /^\d+$/);
    assert.equal(listsSince(from), 2, 'the first LIST through Kura and the direct one');
  });

  test('a presigned URL of the same query by the same key reads the same listing', async () => {
    const query = { 'list-type': '2', prefix: 'lake/day=1/' };
    await list(kura.url, { prefix: 'lake/day=1/' });
    const from = origin.requests.length;
    const target = await presign(kura.url, { method: 'GET', path: `/${BUCKET}`, query });
    const res = await sendRaw(kura.url, {
      method: 'GET',
      rawUrl: target,
      headers: ['Host', new URL(kura.url).host],
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-cache'], 'HIT');
    assert.deepEqual(keysOf(res), ['lake/day=1/part-0.parquet']);
    assert.equal(listsSince(from), 0);
  });

  test('another query is another listing', async () => {
    await list(kura.url, { prefix: 'lake/' });
    const from = origin.requests.length;
    const other = await list(kura.url, { prefix: 'lake/', 'max-keys': '2' });
    assert.equal(other.headers['x-cache'], 'MISS');
    assert.equal(keysOf(other).length, 2);
    assert.equal(listsSince(from), 1);
  });

  test('a PUT through Kura makes the next listing a MISS that shows the new key', async () => {
    const query = { prefix: 'lake/' };
    await list(kura.url, query);
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'HIT');
    await sdkClient(kura.url).send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'lake/day=9/part-0.parquet', Body: Buffer.from('new') }),
    );
    const after = await list(kura.url, query);
    assert.equal(after.headers['x-cache'], 'MISS');
    assert.ok(keysOf(after).includes('lake/day=9/part-0.parquet'));
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'HIT');
  });

  test('a DELETE through Kura makes the next listing a MISS without the key', async () => {
    const query = { prefix: 'lake/day=8/' };
    origin.put(BUCKET, 'lake/day=8/part-0.parquet', Buffer.from('old'));
    assert.deepEqual(keysOf(await list(kura.url, query)), ['lake/day=8/part-0.parquet']);
    await sdkClient(kura.url).send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: 'lake/day=8/part-0.parquet' }),
    );
    const after = await list(kura.url, query);
    assert.equal(after.headers['x-cache'], 'MISS');
    assert.deepEqual(keysOf(after), []);
  });

  test("another access key never reads a key's listing: S3 judges it", async () => {
    const query = { prefix: 'other/' };
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'MISS');
    const from = origin.requests.length;
    const refused = await list(kura.url, query, OTHER);
    assert.equal(refused.status, 403);
    assert.match(refused.body.toString('utf8'), /<Code>AccessDenied<\/Code>/);
    assert.equal(refused.headers['x-cache'], undefined);
    assert.equal(listsSince(from), 1);
  });

  test('a signature past its time is not served from memory', async () => {
    const query = { prefix: 'lake/day=2/' };
    await list(kura.url, query);
    const from = origin.requests.length;
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'HIT');
    const skewed = await signRequest(
      kura.url,
      { method: 'GET', path: `/${BUCKET}`, query: { 'list-type': '2', ...query } },
      { signingDate: new Date(Date.now() - 20 * 60_000) },
    );
    const res = await sendRaw(kura.url, skewed);
    assert.equal(res.status, 403, 'S3 refuses a request dated 20 minutes ago');
    assert.equal(listsSince(from), 1);
  });
});

test('without list_ttl (the default) every listing goes to S3', async () => {
  const kura = await startTestKura({ origin: origin.url });
  try {
    const from = origin.requests.length;
    const first = await list(kura.url, { prefix: 'lake/' });
    const second = await list(kura.url, { prefix: 'lake/' });
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-cache'], undefined);
    assert.ok(second.body.equals(first.body));
    assert.equal(listsSince(from), 2);
  } finally {
    await kura.close();
  }
});

test('a listing is asked again once older than list_ttl', async () => {
  const kura = await startTestKura({ origin: origin.url, settings: { 'cache.list_ttl': '1s' } });
  try {
    const query = { prefix: 'lake/day=3/' };
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'MISS');
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'HIT');
    await sleep(1100);
    assert.equal((await list(kura.url, query)).headers['x-cache'], 'MISS');
  } finally {
    await kura.close();
  }
});

test("a rule's list_ttl keeps the listings of its prefixes only", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-rules-'));
  const rules = join(dir, 'rules.yaml');
  await writeFile(rules, `rules:\n  - match: "${BUCKET}/lake/**"\n    list_ttl: 5m\n`);
  const ruled = await startTestKura({ origin: origin.url, settings: { 'cache.rules': rules } });
  try {
    await list(ruled.url, { prefix: 'lake/' });
    assert.equal((await list(ruled.url, { prefix: 'lake/' })).headers['x-cache'], 'HIT');
    await list(ruled.url, { prefix: 'other/' });
    assert.equal((await list(ruled.url, { prefix: 'other/' })).headers['x-cache'], undefined);
  } finally {
    await ruled.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a write through another Kura on the same volume ends the listings of its bucket at once', async () => {
  const first = await startTestKura({ origin: origin.url, settings: { 'cache.list_ttl': '5m' }, workers: 1 });
  const second = await startTestKura({
    origin: origin.url,
    settings: { 'cache.list_ttl': '5m', 'cache.dir': first.dir },
    workers: 1,
  });
  try {
    const query = { prefix: 'lake/day=4/' };
    await list(first.url, query);
    assert.equal((await list(first.url, query)).headers['x-cache'], 'HIT');
    await sdkClient(second.url).send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'lake/day=4/part-1.parquet', Body: Buffer.from('x') }),
    );
    const after = await list(first.url, query);
    assert.equal(after.headers['x-cache'], 'MISS');
    assert.deepEqual(keysOf(after), ['lake/day=4/part-0.parquet', 'lake/day=4/part-1.parquet']);
  } finally {
    await second.close();
    await first.close();
  }
});
