// Readiness as a load balancer sees it: 200 while the volume is writable and an upstream name resolves,
// 503 with the reason when the volume becomes a read-only file system, and 200 again when it is not.
// The volume is made read-only for real: Kura runs in its own mount namespace where the volume is a
// bind mount that the test remounts read-only and back.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, spawnKura, startTestKura } from '../support/kura.js';
import { startMemoryOrigin } from '../support/memory-origin.js';

const run = promisify(execFile);

interface ReadyBody {
  status: string;
  ready: boolean;
  checks: Record<string, { ok: boolean; problem?: string }>;
}

async function ready(adminUrl: string): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(`${adminUrl}/health/ready`);
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

/** Polls readiness (its verdict is kept for a second) until it answers `status`, for at most 15 s. */
async function readyBecomes(adminUrl: string, status: number) {
  let last = await ready(adminUrl);
  for (let i = 0; i < 150 && last.status !== status; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = await ready(adminUrl);
  }
  return last;
}

test('readiness flips to 503 when the volume turns read-only, and back to 200', async () => {
  const origin = await startMemoryOrigin();
  const dir = await mkdtemp(join(tmpdir(), 'kura-ro-volume-'));
  const adminPort = await freePort();
  const kura = await spawnKura(
    ['--origin', origin.url, '--cache-dir', dir, '--admin-port', String(adminPort)],
    {},
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" "$0" && exec "$@"',
      dir,
    ],
  );
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const remount = (mode: 'ro' | 'rw') =>
    run('nsenter', [
      '--target',
      String(kura.child.pid),
      '--mount',
      'mount',
      '-o',
      `remount,${mode},bind`,
      dir,
    ]);
  try {
    assert.equal((await fetch(`${adminUrl}/health/live`)).status, 200);
    const fine = await readyBecomes(adminUrl, 200);
    assert.equal(fine.status, 200);
    assert.deepEqual(fine.body.checks.volume, { ok: true });

    await remount('ro');
    const broken = await readyBecomes(adminUrl, 503);
    assert.equal(broken.status, 503);
    assert.equal(broken.body.ready, false);
    assert.equal(broken.body.checks.volume?.ok, false);
    assert.match(broken.body.checks.volume?.problem ?? '', /not writable \(EROFS\)/);
    assert.deepEqual(broken.body.checks['upstream-dns'], { ok: true }, 'only the volume is named');
    assert.equal((await fetch(`${adminUrl}/health/live`)).status, 200, 'alive all the same');

    await remount('rw');
    const back = await readyBecomes(adminUrl, 200);
    assert.equal(back.status, 200);
    assert.equal(back.body.status, 'ready');
  } finally {
    await kura.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('readiness is 503 when the volume manifest is replaced by another format', async () => {
  const origin = await startMemoryOrigin();
  const kura = await startTestKura({ origin: origin.url, settings: { 'admin.port': await freePort() } });
  const adminUrl = `http://127.0.0.1:${kura.adminPort}`;
  try {
    assert.equal((await readyBecomes(adminUrl, 200)).status, 200);
    await writeFile(join(kura.dir, 'kura.json'), '{"format":99,"chunkSize":1048576}\n');
    const broken = await readyBecomes(adminUrl, 503);
    assert.equal(broken.status, 503);
    assert.match(broken.body.checks.volume?.problem ?? '', /volume format 99/);
  } finally {
    await kura.close();
    await origin.close();
  }
});

test('readiness is 503 when no upstream name resolves, and says which', async () => {
  const kura = await startTestKura({
    origin: 'http://kura-ready-test.invalid:9000',
    settings: { 'admin.port': await freePort() },
  });
  try {
    const { status, body } = await ready(`http://127.0.0.1:${kura.adminPort}`);
    assert.equal(status, 503);
    assert.equal(body.checks.volume?.ok, true);
    assert.equal(body.checks['upstream-dns']?.ok, false);
    assert.match(body.checks['upstream-dns']?.problem ?? '', /kura-ready-test\.invalid: ENOTFOUND/);
  } finally {
    await kura.close();
  }
});
