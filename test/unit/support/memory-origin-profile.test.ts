// The in-memory origin as a data-lake engine meets it: ListObjectsV2 pages through the SDK (prefix,
// delimiter, continuation tokens), and the S3-like profile's first-byte waits (latency ± jitter + a fixed
// per-request cost, the same sequence for a given seed).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type MemoryOrigin, S3_LIKE, startMemoryOrigin } from '../../support/memory-origin.js';
import { FirstByteDelays } from '../../support/memory-origin-profile.js';

const BUCKET = 'kura-test';

describe('memory origin listing', () => {
  let origin: MemoryOrigin;
  let s3: S3Client;
  const keys = [
    'lake/date=01/part-0.parquet',
    'lake/date=01/part-1.parquet',
    'lake/date=02/part-0.parquet',
    'lake/readme.txt',
    'lake/é.bin',
    'other/x',
  ];

  before(async () => {
    origin = await startMemoryOrigin();
    s3 = new S3Client({
      endpoint: origin.url,
      forcePathStyle: true,
      region: origin.region,
      credentials: origin.credentials,
      maxAttempts: 1,
    });
    for (const [i, key] of keys.entries()) origin.put(BUCKET, key, Buffer.alloc(i + 1));
  });

  after(async () => {
    await origin.close();
    s3.destroy();
  });

  test('pages of max-keys under a prefix, in byte order, with sizes and ETags', async () => {
    const seen: { key: string; size: number; etag: string }[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'lake/', MaxKeys: 2, ContinuationToken: token }),
      );
      pages += 1;
      for (const c of page.Contents ?? [])
        seen.push({ key: c.Key ?? '', size: c.Size ?? -1, etag: c.ETag ?? '' });
      token = page.NextContinuationToken;
      assert.equal(page.IsTruncated, token !== undefined);
    } while (token !== undefined && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(
      seen.map((s) => s.key),
      keys.slice(0, 5),
    );
    assert.deepEqual(
      seen.map((s) => s.size),
      [1, 2, 3, 4, 5],
    );
    assert.equal(seen[0]?.etag, origin.get(BUCKET, keys[0] as string)?.etag);
  });

  test('a delimiter rolls keys up into common prefixes, each counted once across pages', async () => {
    const prefixes: string[] = [];
    const contents: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: 'lake/',
          Delimiter: '/',
          MaxKeys: 1,
          ContinuationToken: token,
        }),
      );
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''));
      contents.push(...(page.Contents ?? []).map((c) => c.Key ?? ''));
      token = page.NextContinuationToken;
      if (!token) break;
    }
    assert.deepEqual(prefixes, ['lake/date=01/', 'lake/date=02/']);
    assert.deepEqual(contents, ['lake/readme.txt', 'lake/é.bin']);
  });
});

describe('origin profiles', () => {
  test('S3-like waits spread over latency ± jitter plus the overhead, the same for one seed', () => {
    const a = new FirstByteDelays({ ...S3_LIKE, seed: 7 });
    const b = new FirstByteDelays({ ...S3_LIKE, seed: 7 });
    const waits = Array.from({ length: 2000 }, () => a.next());
    assert.deepEqual(
      Array.from({ length: 2000 }, () => b.next()),
      waits,
    );
    const low = S3_LIKE.firstByteLatencyMs + S3_LIKE.requestOverheadMs - S3_LIKE.firstByteJitterMs;
    const high = low + 2 * S3_LIKE.firstByteJitterMs;
    assert.ok(waits.every((w) => w >= low && w <= high));
    const mean = waits.reduce((s, w) => s + w, 0) / waits.length;
    assert.ok(Math.abs(mean - (low + high) / 2) < 1, `mean ${mean}`);
    // Spread, not a constant: both halves of the range are met.
    assert.ok(waits.some((w) => w < low + 3) && waits.some((w) => w > high - 3));
  });

  test('loopback speed without a profile', () => {
    assert.equal(new FirstByteDelays({}).next(), 0);
  });

  test('the first byte of a HEAD waits for the profile too', async () => {
    const origin = await startMemoryOrigin({
      allowAnonymous: true,
      firstByteLatencyMs: 40,
      requestOverheadMs: 20,
    });
    try {
      origin.put(BUCKET, 'k', Buffer.alloc(10));
      const t = performance.now();
      const res = await fetch(`${origin.url}/${BUCKET}/k`, { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.ok(performance.now() - t >= 58, `answered after ${performance.now() - t} ms`);
    } finally {
      await origin.close();
    }
  });
});
