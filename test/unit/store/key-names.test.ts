// A key's name is its namespace, bucket and key joined by newlines, whichever keys share its key string or
// were named before it, and however many keys have been named since.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyName } from '../../../src/store/key-names.js';

test('a name is the namespace, bucket and key, each key its own', () => {
  const k = { namespace: 'aws', bucket: 'b', key: 'dir/a.parquet' };
  assert.equal(keyName(k), 'aws\nb\ndir/a.parquet');
  assert.equal(keyName({ ...k }), 'aws\nb\ndir/a.parquet');
  // The same key string in other buckets and namespaces names other objects.
  assert.equal(keyName({ ...k, bucket: 'c' }), 'aws\nc\ndir/a.parquet');
  assert.equal(
    keyName({ ...k, namespace: 'http://127.0.0.1:9000' }),
    'http://127.0.0.1:9000\nb\ndir/a.parquet',
  );
  assert.equal(keyName(k), 'aws\nb\ndir/a.parquet');
  assert.equal(keyName({ ...k, bucket: 'c' }), 'aws\nc\ndir/a.parquet');
});

test('names stay right across the forgetting of names used less lately', () => {
  // Past the names remembered, all are forgotten and made again: 25,000 keys go past it twice.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 25_000; i++) {
      const bucket = `b${i % 3}`;
      const key = `k${i % 7_919}`;
      assert.equal(keyName({ namespace: 'aws', bucket, key }), `aws\n${bucket}\n${key}`);
    }
  }
});
