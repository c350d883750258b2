// The listings kept in memory and the bucket marks on the volume that date them (src/cache/list/listings.ts).

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Listing, Listings } from '../../../src/cache/list/listings.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';

let root: string;
let volume: Volume;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-listings-'));
  volume = await openVolume({ dir: join(root, 'volume'), chunkSize: 64 * 1024, instanceId: 'test' });
});
after(() => rm(root, { recursive: true, force: true }));

function listing(bytes: number, mark = 'm'): Listing {
  return { headers: ['content-type', 'application/xml'], body: Buffer.alloc(bytes), mark, at: 0 };
}

test('a bucket has no mark until a write or a listing needs one, then a new one at each write', async () => {
  const listings = new Listings(volume);
  assert.equal(await listings.mark('aws', 'fresh'), null);
  const made = await listings.markForFill('aws', 'fresh', null);
  assert.match(made ?? '', /^[0-9a-f]{32}$/);
  assert.equal(await listings.markForFill('aws', 'fresh', made), made, 'a mark read is the one used');
  assert.equal(await listings.mark('aws', 'fresh'), made);
  await listings.changed('aws', 'fresh');
  const changed = await listings.mark('aws', 'fresh');
  assert.notEqual(changed, made);
  assert.equal(
    await listings.mark('other-namespace', 'fresh'),
    null,
    'each namespace and bucket has its own',
  );
  // Another process on the volume sees the same mark.
  assert.equal(await new Listings(volume).mark('aws', 'fresh'), changed);
});

test('a write to a bucket without a mark makes none; with one, it makes a new one', async () => {
  const listings = new Listings(volume);
  await listings.written('aws', 'unlisted');
  assert.equal(await listings.mark('aws', 'unlisted'), null);
  const made = await listings.markForFill('aws', 'unlisted', null);
  await listings.written('aws', 'unlisted');
  const after = await listings.mark('aws', 'unlisted');
  assert.ok(after !== null && after !== made);
});

test('writes while a mark is being rewritten share the one rewrite queued behind it', async () => {
  const listings = new Listings(volume);
  await listings.changed('aws', 'busy');
  const before = await listings.mark('aws', 'busy');
  const seen = new Set<string | null>();
  const first = listings.changed('aws', 'busy');
  const rest = Array.from({ length: 100 }, () => listings.changed('aws', 'busy'));
  await first;
  seen.add(await listings.mark('aws', 'busy'));
  await Promise.all(rest);
  seen.add(await listings.mark('aws', 'busy'));
  assert.equal(seen.size, 2, 'the running rewrite, then one more for the 100 that came during it');
  assert.ok(!seen.has(before));
  const left = await readdir(volume.tmpDir);
  assert.deepEqual(left, [], 'no temp file left behind');
});

test('listings past the byte limit go least recently served first', () => {
  const listings = new Listings(volume, 3000);
  listings.set('a', listing(900));
  listings.set('b', listing(900));
  listings.set('c', listing(900));
  assert.ok(listings.get('a') !== undefined, 'a is now the most recently served');
  listings.set('d', listing(900));
  assert.equal(listings.get('b'), undefined);
  assert.ok(listings.get('a') && listings.get('c') && listings.get('d'));
  assert.ok(listings.bytes <= 3000);
  listings.set('huge', listing(5000));
  assert.equal(listings.get('huge'), undefined, 'a listing larger than the limit is not kept');
  listings.set('a', listing(10));
  assert.ok(listings.bytes < 3000, 'a listing replaced is counted once');
});

test("a credential's listings of a bucket are dropped together", () => {
  const listings = new Listings(volume);
  listings.set('aws\nb\nkey K\nlist-type=2', listing(10));
  listings.set('aws\nb\nkey K\nlist-type=2&prefix=a', listing(10));
  listings.set('aws\nb\nkey L\nlist-type=2', listing(10));
  listings.dropPrefix('aws\nb\nkey K\n');
  assert.equal(listings.get('aws\nb\nkey K\nlist-type=2'), undefined);
  assert.equal(listings.get('aws\nb\nkey K\nlist-type=2&prefix=a'), undefined);
  assert.ok(listings.get('aws\nb\nkey L\nlist-type=2'));
});
