// A permission change through Kura clears what it affects before the client hears S3's answer: an
// object's ACL its record and chunks, a bucket's ACL, policy or public access block every cached entry of
// that bucket and nothing of another. The next read is S3's to answer again.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { listFiles, originBodyBytesDuring } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const OTHER = 'kura-other';

let origin: MemoryOrigin;
let kura: TestKura;
let client: S3Client;

/** Stores `key` at the origin and reads it through Kura until it is a hit; returns its bytes. */
async function cached(bucket: string, key: string): Promise<Buffer> {
  const body = randomBytes(3000);
  origin.put(bucket, key, body);
  const first = await sdkGet(client, bucket, key);
  assert.equal(first.status, 200);
  const hit = await sdkGet(client, bucket, key);
  assert.equal(hit.xCache, 'HIT', `${bucket}/${key} is not cached`);
  assert.ok(hit.body.equals(body));
  return body;
}

/** A GET through Kura that must reach the origin and bring the origin's bytes. */
async function assertRefetched(bucket: string, key: string, body: Buffer): Promise<void> {
  const seen = await originBodyBytesDuring(origin, async () => {
    const r = await sdkGet(client, bucket, key);
    assert.equal(r.status, 200);
    assert.equal(r.xCache, 'MISS', `${bucket}/${key} was answered from the cache`);
    assert.ok(r.body.equals(body), `${bucket}/${key}: other bytes than the origin's`);
  });
  assert.deepEqual(seen.statuses, [200], `${bucket}/${key}: the GET did not reach the origin`);
  assert.equal(seen.bodyBytes, body.length);
}

async function assertStillHit(bucket: string, key: string, body: Buffer): Promise<void> {
  const seen = await originBodyBytesDuring(origin, async () => {
    const r = await sdkGet(client, bucket, key);
    assert.equal(r.xCache, 'HIT', `${bucket}/${key} was dropped by a change to another bucket`);
    assert.ok(r.body.equals(body));
  });
  assert.equal(seen.requests.length, 0);
}

/** Record and chunk files of `bucket` on the volume. */
async function volumeFiles(bucket: string): Promise<string[]> {
  const files = [
    ...(await listFiles(kura.dir, `objects/${bucket}`)),
    ...(await listFiles(kura.dir, `data/${bucket}`)),
  ];
  return files.filter((f) => !f.endsWith('.gone'));
}

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*` },
  ],
});

const BUCKET_CHANGES = [
  ['PutBucketPolicy', () => new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: POLICY })],
  ['DeleteBucketPolicy', () => new DeleteBucketPolicyCommand({ Bucket: BUCKET })],
  ['PutBucketAcl', () => new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'private' })],
  [
    'PutPublicAccessBlock',
    () =>
      new PutPublicAccessBlockCommand({
        Bucket: BUCKET,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      }),
  ],
  ['DeletePublicAccessBlock', () => new DeletePublicAccessBlockCommand({ Bucket: BUCKET })],
] as const;

describe('a permission change through Kura clears the cached entries it affects', () => {
  before(async () => {
    origin = await startMemoryOrigin({ buckets: [BUCKET, OTHER] });
    kura = await startTestKura({ origin: origin.url });
    client = sdkClient(kura.url);
  });

  after(async () => {
    client?.destroy();
    await kura?.close();
    await origin?.close();
  });

  test('PutObjectAcl: the object is dropped, the next GET is a miss that reaches the origin', async () => {
    const body = await cached(BUCKET, 'acl/object');
    const neighbour = await cached(BUCKET, 'acl/neighbour');
    const invalidations = kura.cache.stats.invalidations;
    const out = await client.send(
      new PutObjectAclCommand({ Bucket: BUCKET, Key: 'acl/object', ACL: 'private' }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.ok(
      origin.requests.some((r) => r.method === 'PUT' && r.rawUrl.includes('acl') && r.status === 200),
      'the ACL change did not reach the origin',
    );
    assert.equal(kura.cache.stats.invalidations, invalidations + 1);
    await assertRefetched(BUCKET, 'acl/object', body);
    await assertStillHit(BUCKET, 'acl/neighbour', neighbour);
  });

  for (const [name, command] of BUCKET_CHANGES) {
    test(`${name}: every entry of the bucket is dropped, another bucket's are kept`, async () => {
      const a = await cached(BUCKET, `${name}/a`);
      const b = await cached(BUCKET, `${name}/deep/b`);
      const other = await cached(OTHER, `${name}/c`);
      assert.notDeepEqual(await volumeFiles(BUCKET), []);
      const bucketInvalidations = kura.cache.stats.bucketInvalidations;

      const out = await client.send(command() as Parameters<S3Client['send']>[0]);
      assert.ok(
        [200, 204].includes(out.$metadata.httpStatusCode ?? 0),
        `${name}: ${out.$metadata.httpStatusCode}`,
      );

      // Gone before the client heard S3's answer: no record or chunk of the bucket is left.
      assert.deepEqual(await volumeFiles(BUCKET), []);
      assert.notDeepEqual(await volumeFiles(OTHER), []);
      assert.equal(kura.cache.stats.bucketInvalidations, bucketInvalidations + 1);
      await assertRefetched(BUCKET, `${name}/a`, a);
      await assertRefetched(BUCKET, `${name}/deep/b`, b);
      await assertStillHit(OTHER, `${name}/c`, other);
    });
  }
});
