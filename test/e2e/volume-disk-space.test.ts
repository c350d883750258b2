// A volume on a file system smaller than `cache.max_size` (here the default 100 GiB): Kura must plan by
// what the disk can hold (src/store/disk-space.ts), not fill it and stay full. Kura runs in its own mount
// namespace where the volume is a 16 MiB tmpfs; clients read three times that much, every answer
// byte-exact. The disk never runs out (no ENOSPC), the leader evicts down to the disk's capacity, and
// an object read afterwards is cached again (a HIT on its second read).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSummary } from '../../src/store/state-files.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { waitUntil } from '../support/fleet.js';
import { spawnKura } from '../support/kura.js';
import { startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const MiB = 2 ** 20;
const DISK = 16 * MiB;

test('a 16 MiB file system under a 100 GiB max_size: never full, space recovered, caching resumes', async () => {
  const origin = await startMemoryOrigin();
  const root = await mkdtemp(join(tmpdir(), 'kura-small-disk-'));
  const dir = join(root, 'volume');
  const config = join(root, 'kura.yaml');
  await mkdir(dir);
  await writeFile(
    config,
    'cache:\n  chunk_size: 64KiB\n  ram_size: 1MiB\n  journal_flush: 200ms\n  journal_segment_age: 200ms\n  admission_window: 0s\n',
  );
  const kura = await spawnKura(['-c', config, '--origin', origin.url, '--cache-dir', dir], {}, [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -t tmpfs -o size=${DISK} kura-test "$0" && exec "$@"`,
    dir,
  ]);
  // The volume as Kura sees it, through its own mount namespace.
  const volume = `/proc/${kura.child.pid}/root${dir}`;
  try {
    const fs = await statfs(volume);
    assert.equal(fs.blocks * fs.bsize, DISK, 'Kura sees the small file system');
    const client = sdkClient(kura.url);
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 48; i++) {
      const key = `disk/object-${i}.bin`;
      bodies.set(key, randomBytes(MiB));
      origin.put(BUCKET, key, bodies.get(key) as Buffer);
    }
    for (const [key, body] of bodies) {
      const r = await sdkGet(client, BUCKET, key);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body), `${key} byte-exact`);
    }
    // The leader sees the disk, not max_size, and evicts down to it.
    const recovered = await waitUntil(async () => {
      const s = await readSummary(volume);
      return s?.capacityBytes !== undefined && s.capacityBytes < DISK && s.totalBytes < s.capacityBytes * 0.9;
    }, 15_000);
    const summary = await readSummary(volume);
    assert.ok(recovered, `space recovered: ${JSON.stringify(summary)}`);
    assert.ok((summary?.evictedObjects ?? 0) > 0, 'the leader evicted');

    // Caching resumes: an object read now is answered from the cache on its next read.
    const key = 'disk/object-0.bin';
    let second = await sdkGet(client, BUCKET, key);
    for (let i = 0; i < 20 && second.xCache !== 'HIT'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      second = await sdkGet(client, BUCKET, key);
    }
    assert.equal(second.xCache, 'HIT', 'an object read after the disk filled is cached again');
    assert.ok(second.body.equals(bodies.get(key) as Buffer));
    assert.doesNotMatch(kura.stderr(), /ENOSPC/, 'the disk never ran out');
  } finally {
    await kura.stop();
    await origin.close();
    await rm(root, { recursive: true, force: true });
  }
});
