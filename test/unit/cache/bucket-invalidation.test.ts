import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Cache } from '../../../src/cache/cache.js';
import { buildConfig } from '../../../src/config/load.js';
import type { ObjectKey, ObjectRecord } from '../../../src/store/types.js';
import { createLogger } from '../../../src/telemetry/log.js';

function record(k: ObjectKey): ObjectRecord {
  const now = Date.now();
  return {
    format: 1,
    ...k,
    etag: '"e"',
    size: 1,
    lastModified: null,
    headers: [],
    checksums: null,
    partsCount: null,
    parts: {},
    source: 'get',
    codec: 'raw',
    validatedGet: now,
    validatedHead: null,
    createdAt: now,
  };
}

test('a bucket-wide invalidation drops the bucket in its namespace only, and is counted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-bucket-invalidation-'));
  const built = buildConfig({}, [{ path: 'cache.dir', value: dir, source: 'test' }]);
  assert.ok(built.ok);
  const cache = await Cache.open(built.config, createLogger('error'));
  try {
    const keys: ObjectKey[] = [
      { namespace: 'aws', bucket: 'changed', key: 'a' },
      { namespace: 'aws', bucket: 'changed', key: 'deep/b' },
      { namespace: 'http://other:9000', bucket: 'changed', key: 'a' },
      { namespace: 'aws', bucket: 'kept', key: 'a' },
    ];
    for (const k of keys) await cache.records.update(k, () => record(k));

    await cache.invalidateBucket('aws', 'changed');
    const left = await Promise.all(keys.map((k) => cache.records.read(k)));
    assert.deepEqual(
      left.map((r) => r !== null),
      [false, false, true, true],
    );
    assert.equal(cache.stats.bucketInvalidations, 1);
    assert.equal(cache.stats.invalidations, 2);

    // A bucket name that cannot be a directory touches nothing on the volume, and crashes nothing.
    await cache.invalidateBucket('aws', '..');
    assert.equal(cache.stats.bucketInvalidations, 2);
    assert.notEqual(await cache.records.read(keys[3] as ObjectKey), null);
  } finally {
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  }
});
