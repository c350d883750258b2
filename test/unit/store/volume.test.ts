import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isStorableBucket } from '../../../src/s3/bucket-name.js';
import type { ObjectVersion } from '../../../src/store/types.js';
import { openVolume, VolumeError } from '../../../src/store/volume.js';

let root: string;
let serial = 0;
const freshDir = () => join(root, `vol-${++serial}`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-volume-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const v: ObjectVersion = { namespace: 'aws', bucket: 'my-bucket', key: 'a/b/../../c', etag: '"abc"' };

describe('openVolume', () => {
  test('creates the volume: directories, mode 0700, and the manifest', async () => {
    const dir = join(freshDir(), 'nested');
    const volume = await openVolume({ dir, chunkSize: 1 << 20, instanceId: 'host-1' });
    assert.equal(volume.chunkSize, 1 << 20);
    assert.equal(volume.configuredChunkSizeIgnored, false);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual((await readdir(dir)).sort(), [
      'data',
      'journal',
      'kura.json',
      'leases',
      'locks',
      'objects',
      'state',
      'tmp',
    ]);
    assert.deepEqual(await readdir(join(dir, 'tmp')), ['host-1']);
    assert.deepEqual(await readdir(join(dir, 'tmp', 'host-1')), []); // the manifest's temp file is gone
    const manifest = JSON.parse(await readFile(join(dir, 'kura.json'), 'utf8'));
    assert.equal(manifest.format, 1);
    assert.equal(manifest.chunkSize, 1 << 20);
    assert.ok(!Number.isNaN(Date.parse(manifest.createdAt)));
  });

  test('an existing directory keeps its mode', async () => {
    const dir = freshDir();
    await mkdir(dir, { mode: 0o750 });
    await openVolume({ dir, chunkSize: 4096 });
    assert.equal((await stat(dir)).mode & 0o777, 0o750);
  });

  test('a re-opened volume keeps its chunk size, whatever is configured', async () => {
    const dir = freshDir();
    const first = await openVolume({ dir, chunkSize: 1 << 20 });
    const again = await openVolume({ dir, chunkSize: 4 << 20 });
    assert.equal(again.chunkSize, 1 << 20);
    assert.equal(again.configuredChunkSizeIgnored, true);
    assert.equal(again.createdAt, first.createdAt);
    assert.notEqual(again.instanceId, first.instanceId);
    assert.match(again.instanceId, /^[A-Za-z0-9._-]+$/);
  });

  test('instances starting together on a fresh volume agree on one manifest', async () => {
    const dir = freshDir();
    const volumes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        openVolume({ dir, chunkSize: 4096 * (i + 1), instanceId: `i${i}` }),
      ),
    );
    const sizes = new Set(volumes.map((vol) => vol.chunkSize));
    assert.equal(sizes.size, 1);
    const manifest = JSON.parse(await readFile(join(dir, 'kura.json'), 'utf8'));
    assert.equal(manifest.chunkSize, volumes[0]?.chunkSize);
  });

  test('refuses a volume of another format, naming the path and the problem', async () => {
    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, 'kura.json'), JSON.stringify({ format: 2, chunkSize: 1024, createdAt: 'x' }));
    await assert.rejects(openVolume({ dir, chunkSize: 1024 }), (err: unknown) => {
      assert.ok(err instanceof VolumeError);
      assert.equal(
        err.message,
        `${join(dir, 'kura.json')}: volume format 2 is not one this Kura reads (format 1); ` +
          'use a new cache.dir or a newer Kura',
      );
      return true;
    });
  });

  test('refuses a manifest that is not JSON, or not a manifest', async () => {
    const cases: [string, RegExp][] = [
      ['{"format":', /kura\.json: the volume manifest is not JSON/],
      ['"text"', /not a JSON object/],
      ['{"format":1,"chunkSize":0}', /chunkSize 0 is not valid/],
      ['{"chunkSize":1024}', /volume format undefined is not one/],
    ];
    for (const [text, message] of cases) {
      const dir = freshDir();
      await mkdir(dir);
      await writeFile(join(dir, 'kura.json'), text);
      await assert.rejects(openVolume({ dir, chunkSize: 1024 }), (err: unknown) => {
        assert.ok(err instanceof VolumeError);
        assert.match(err.message, message);
        return true;
      });
    }
  });

  test('refuses a chunk size that is not a positive integer', async () => {
    for (const chunkSize of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      await assert.rejects(openVolume({ dir: freshDir(), chunkSize }), VolumeError);
    }
  });
});

describe('volume paths', () => {
  test('every path is inside the volume, and the key never appears in one', async () => {
    const volume = await openVolume({ dir: freshDir(), chunkSize: 4096, instanceId: 'x' });
    const paths = [
      volume.recordPath(v),
      volume.objectDataDir(v),
      volume.versionDir(v),
      volume.chunkPath(v, 0, false),
      volume.chunkPath(v, 12, true),
      volume.recordLockPath(v),
      volume.tmpFile(),
    ];
    for (const p of paths) {
      assert.ok(p.startsWith(volume.dir + sep), p);
      assert.ok(!p.includes('a/b/../../c'), p);
    }
    assert.match(
      volume.recordPath(v),
      /\/objects\/my-bucket\/([0-9a-f]{2})\/([0-9a-f]{2})\/\1\2[0-9a-f]{60}\.json$/,
    );
    assert.match(
      volume.versionDir(v),
      /\/data\/my-bucket\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\/[0-9a-f]{32}$/,
    );
    assert.equal(volume.chunkPath(v, 12, true), join(volume.versionDir(v), '12.p'));
    assert.equal(volume.chunkPath(v, 12, false), join(volume.versionDir(v), '12'));
    assert.ok(volume.recordLockPath(v).startsWith(join(volume.dir, 'locks', 'records', 'my-bucket') + sep));
    assert.ok(volume.tmpFile().startsWith(join(volume.dir, 'tmp', 'x') + sep));
    assert.notEqual(volume.tmpFile(), volume.tmpFile());
  });

  test('namespace, bucket, key and ETag each change the path', async () => {
    const volume = await openVolume({ dir: freshDir(), chunkSize: 4096 });
    const base = volume.chunkPath(v, 0, false);
    assert.notEqual(volume.chunkPath({ ...v, namespace: 'http://minio:9000' }, 0, false), base);
    assert.notEqual(volume.chunkPath({ ...v, key: 'a/b/../../d' }, 0, false), base);
    assert.notEqual(volume.chunkPath({ ...v, etag: '"abd"' }, 0, false), base);
    // Buckets that differ only in case must not meet on a case-insensitive file system.
    const upper = volume.objectDataDir({ ...v, bucket: 'My-Bucket' });
    const lower = volume.objectDataDir({ ...v, bucket: 'my-bucket' });
    assert.notEqual(upper.slice(-64).toLowerCase(), lower.slice(-64).toLowerCase());
    assert.equal(volume.versionDir(v), volume.versionDir({ ...v }));
  });

  test('a bucket name that could leave the volume is refused', async () => {
    const volume = await openVolume({ dir: freshDir(), chunkSize: 4096 });
    for (const bucket of [
      '..',
      '.',
      '',
      'a/b',
      '../x',
      'a\\b',
      'a\0b',
      '/abs',
      'x/..',
      'bucket.',
      '-bucket',
      'a'.repeat(256),
    ]) {
      assert.equal(isStorableBucket(bucket), false, JSON.stringify(bucket));
      const k = { ...v, bucket };
      assert.throws(() => volume.recordPath(k), VolumeError);
      assert.throws(() => volume.chunkPath(k, 0, false), VolumeError);
      assert.throws(() => volume.recordLockPath(k), VolumeError);
      assert.throws(() => volume.objectDataDir(k), VolumeError);
    }
  });

  test('real bucket names are storable', () => {
    const names = [
      'my-bucket',
      'a.b.c',
      'abc',
      'Legacy_Bucket',
      'my-ap-123456789012',
      'my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias',
      'mfzwi23gnjvgw.mrap',
      'my-bucket--usw2-az1--x-s3',
      'a'.repeat(255),
    ];
    for (const name of names) assert.equal(isStorableBucket(name), true, name);
  });

  test('chunk indexes are u32', async () => {
    const volume = await openVolume({ dir: freshDir(), chunkSize: 4096 });
    for (const index of [-1, 1.5, 2 ** 32])
      assert.throws(() => volume.chunkPath(v, index, false), VolumeError);
    assert.ok(volume.chunkPath(v, 2 ** 32 - 1, false).endsWith('/4294967295'));
  });
});
