// A key's name is its namespace, bucket and key joined by newlines, whichever keys share its key string or
// were named before it, and however many keys have been named since; a version's name and its cells' the
// same way.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyName, versionName } from '../../../src/store/key-names.js';

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

test("a version's name is its key's and its ETag, its cells' names that and their index", () => {
  const v = { namespace: 'aws', bucket: 'b', key: 'k', etag: '"e1"' };
  const name = versionName(v);
  assert.equal(name.id, 'aws\nb\nk\n"e1"');
  // Cells past those whose names are kept are named the same way.
  for (const index of [0, 1, 15, 16, 17, 4095]) assert.equal(name.cell(index), `aws\nb\nk\n"e1"/${index}`);
  assert.equal(name.cell(3), name.cell(3));
  // The same version, from another object, is the same name; another ETag or key is another.
  assert.equal(versionName({ ...v }), name);
  assert.equal(versionName({ ...v, etag: '"e2"' }).id, 'aws\nb\nk\n"e2"');
  assert.equal(versionName({ ...v, bucket: 'c' }).id, 'aws\nc\nk\n"e1"');
  assert.equal(versionName(v).cell(2), 'aws\nb\nk\n"e1"/2');
});

test('version names stay right across the forgetting of those used less lately', () => {
  for (let i = 0; i < 10_000; i++) {
    const v = { namespace: 'aws', bucket: 'b', key: `k${i % 1_009}`, etag: `"${i % 13}"` };
    const name = versionName(v);
    assert.equal(name.id, `aws\nb\n${v.key}\n${v.etag}`);
    assert.equal(name.cell(i % 20), `${name.id}/${i % 20}`);
  }
});
