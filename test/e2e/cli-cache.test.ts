// `kura cache stats | verify | purge` as an operator runs them: the real command against a volume that
// a running instance uses, with the exit codes scripts rely on.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FleetStatus } from '../../src/store/fleet-status.js';
import type { VerifyReport } from '../../src/store/verify.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { runKura, waitUntil } from '../support/fleet.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { copyLiveVolume } from '../support/volume-files.js';

const BUCKET = 'kura-test';

let origin: MemoryOrigin;
let kura: TestKura;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    settings: {
      'cache.chunk_size': '64KiB',
      'cache.journal_flush': '100ms',
      'cache.journal_segment_age': '100ms',
    },
  });
  const client = sdkClient(kura.url);
  for (let i = 0; i < 4; i++) {
    origin.put(BUCKET, `cli/object-${i}.bin`, randomBytes(200_000));
    assert.equal((await sdkGet(client, BUCKET, `cli/object-${i}.bin`)).status, 200);
  }
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

test('kura cache stats shows the size, objects, instances and leader of a running volume', async () => {
  let status: FleetStatus | null = null;
  const published = await waitUntil(async () => {
    const r = await runKura(['cache', 'stats', '--json', '--cache-dir', kura.dir]);
    status = JSON.parse(r.stdout) as FleetStatus;
    return (status.objects ?? 0) >= 4;
  }, 10_000);
  assert.ok(published, JSON.stringify(status));
  const s = status as unknown as FleetStatus;
  assert.ok((s.sizeBytes ?? 0) > 4 * 200_000 * 0.9);
  assert.equal(s.leader?.instance, kura.cache.volume.instanceId);
  assert.ok(s.instances.some((i) => i.instance === kura.cache.volume.instanceId && !i.stopped));
  const text = await runKura(['cache', 'stats', '--cache-dir', kura.dir]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /objects\s+4/);
  // Sizes and times in human units throughout: no raw byte counts or millisecond figures.
  assert.match(text.stdout, /^size {7}\d+(\.\d)?(KiB|MiB) of 100GiB/m);
  assert.doesNotMatch(text.stdout, /\d{4,}(B|ms)\b|\d ms\b/);
});

test('kura cache verify: exit 0 on a healthy volume, 1 with a corrupt chunk named', async () => {
  const healthy = await runKura(['cache', 'verify', '--cache-dir', kura.dir]);
  assert.equal(healthy.code, 0, healthy.stdout);
  assert.match(healthy.stdout, /^healthy/);

  const copy = await mkdtemp(join(tmpdir(), 'kura-verify-'));
  try {
    await copyLiveVolume(kura.dir, copy);
    const chunk = await firstChunk(join(copy, 'data'));
    await writeFile(chunk, Buffer.from('not a chunk'));
    const broken = await runKura(['cache', 'verify', '--cache-dir', copy]);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /NOT HEALTHY/);
    assert.ok(broken.stdout.includes(chunk), broken.stdout);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
});

test('kura cache verify names every damaged record and wrong-typed entry; --repair removes them', async () => {
  const copy = await mkdtemp(join(tmpdir(), 'kura-repair-'));
  try {
    await copyLiveVolume(kura.dir, copy);
    const entries = await readdir(copy, { withFileTypes: true, recursive: true });
    const paths = (test: (name: string) => boolean) =>
      entries.filter((e) => e.isFile() && test(e.name)).map((e) => join(e.parentPath, e.name));
    const [record, other] = paths((n) => n.endsWith('.json') && !n.includes('heartbeat')).filter((p) =>
      p.includes(`${join(copy, 'objects')}/`),
    );
    assert.ok(record && other, 'two records');
    // A flipped bit in one record; no record file at all but a directory in another's place.
    const bytes = await readFile(record);
    bytes[40] = (bytes[40] as number) ^ 0x04;
    await writeFile(record, bytes);
    const chunk = (await firstChunk(join(copy, 'data'))) as string;
    const planted = {
      recordDir: `${other.slice(0, -'.json'.length)}0.json`,
      chunkDir: join(dirname(chunk), '99'),
      versionFile: join(dirname(dirname(chunk)), '0123456789abcdef0123456789abcdef'),
    };
    await mkdir(join(planted.recordDir, 'x'), { recursive: true });
    await mkdir(join(planted.chunkDir, 'x'), { recursive: true });
    await writeFile(planted.versionFile, 'not a directory');

    const found = await runKura(['cache', 'verify', '--cache-dir', copy]);
    assert.equal(found.code, 1, found.stdout);
    assert.ok(found.stdout.includes(`damaged record: ${record}`), found.stdout);
    for (const p of Object.values(planted))
      assert.ok(found.stdout.includes(`wrong type: ${p}`), found.stdout);

    const repaired = await runKura(['cache', 'verify', '--repair', '--json', '--cache-dir', copy]);
    const report = JSON.parse(repaired.stdout) as VerifyReport;
    assert.deepEqual(report.repaired.sort(), [record, ...Object.values(planted)].sort());
    assert.equal(repaired.code, 0, repaired.stdout);
    for (const p of [record, ...Object.values(planted)]) {
      assert.equal(await stat(p).catch(() => null), null, `${p} removed`);
    }
    const after = await runKura(['cache', 'verify', '--cache-dir', copy]);
    assert.equal(after.code, 0, after.stdout);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
});

test('kura cache purge: a bad bucket is a usage error; a directory that is no volume is refused', async () => {
  const bad = await runKura(['cache', 'purge', '../etc', '--cache-dir', kura.dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a bucket name/);
  const empty = await mkdtemp(join(tmpdir(), 'kura-novolume-'));
  try {
    const none = await runKura(['cache', 'stats', '--cache-dir', empty]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /not a Kura volume/);
    assert.deepEqual(await readdir(empty), [], 'nothing was created');
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('kura cache purge of a prefix: those keys are misses afterwards, others still hits', async () => {
  const purge = await runKura(['cache', 'purge', `${BUCKET}/cli/object-1`, '--cache-dir', kura.dir]);
  assert.equal(purge.code, 0, purge.stderr);
  assert.match(purge.stdout, /purged 1 object under kura-test\/cli\/object-1/);
  const client = sdkClient(kura.url);
  assert.equal((await sdkGet(client, BUCKET, 'cli/object-1.bin')).xCache, 'MISS');
  assert.equal((await sdkGet(client, BUCKET, 'cli/object-2.bin')).xCache, 'HIT');
});

async function firstChunk(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const file = entries.find((e) => e.isFile() && /^\d+$/.test(e.name));
  assert.ok(file, 'a chunk file');
  return join(file.parentPath, file.name);
}
