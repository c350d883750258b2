// `kura serve --workers 2` and the signals its primary passes on: SIGTERM drains every worker, SIGHUP makes
// every worker reopen its access log.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitUntil } from '../support/fleet.js';
import { freePort, spawnKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { BUCKET, get, KiB, stats, type WorkerStats } from '../support/workers-client.js';

let origin: MemoryOrigin;
before(async () => {
  origin = await startMemoryOrigin();
});
after(() => origin?.close());

test('SIGTERM drains every worker: downloads in flight on both finish, then the group exits 0', async () => {
  const slow = await startMemoryOrigin({ bandwidthBytesPerSec: 1024 * KiB });
  const adminPort = await freePort();
  const kura = await spawnKura(['--workers', '2', '--origin', slow.url, '--admin-port', String(adminPort)], {
    KURA_LOG_LEVEL: 'info',
    KURA_SHUTDOWN_GRACE: '20s',
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  try {
    const bodies = Array.from({ length: 4 }, () => randomBytes(1536 * KiB));
    bodies.forEach((b, i) => {
      slow.put(BUCKET, `drain/${i}.bin`, b);
    });
    assert.ok(await waitUntil(async () => (await stats(admin)).workers.length === 2, 10_000));
    const downloads = bodies.map((_, i) => get(kura, `drain/${i}.bin`));
    // Every download is in flight on a worker, and both workers have one, before the signal. A connection
    // still in the listening socket's backlog when the group stops listening is reset by the kernel, as
    // it would be for any server: on a loaded machine the fourth can still be there when two are running.
    assert.ok(
      await waitUntil(async () => {
        const s = (await (await fetch(`${admin}/stats`)).json()) as {
          workers: { requests: { active: number } }[];
        };
        const active = s.workers.reduce((n, w) => n + w.requests.active, 0);
        return s.workers.length === 2 && s.workers.every((w) => w.requests.active > 0) && active === 4;
      }, 5_000),
      'all four downloads in flight, on both workers',
    );
    const exited = once(kura.child, 'exit');
    kura.child.kill('SIGTERM');
    const stopping = () => kura.stderr().match(/"msg":"stopping: no new connections[^\n]*"worker":\d/g) ?? [];
    assert.ok(await waitUntil(() => stopping().length === 2, 10_000), 'both workers stopping');
    // Once both workers stop accepting, the port closes: a new connection is refused, never served. One
    // that reaches the backlog just before the primary closes it is reset instead; it tries again.
    assert.ok(
      await waitUntil(async () => {
        const outcome = await get(kura, 'drain/0.bin').then(
          (r) => `served ${r.status}`,
          (e: NodeJS.ErrnoException) => e.code ?? String(e),
        );
        assert.ok(outcome === 'ECONNREFUSED' || outcome === 'ECONNRESET', `a new connection: ${outcome}`);
        return outcome === 'ECONNREFUSED';
      }, 5_000),
      'no new connections while draining',
    );
    const ready = await fetch(`${admin}/health/ready`);
    assert.equal(ready.status, 503, 'not ready while draining');
    assert.deepEqual(((await ready.json()) as { checks: Record<string, unknown> }).checks.shutdown, {
      ok: false,
      problem: 'shutting down',
    });
    const done = await Promise.all(downloads);
    done.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(bodies[i] as Buffer), `download ${i} whole and byte-exact`);
    });
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.equal(stopping().length, 2, 'each worker drained');
  } finally {
    await kura.stop();
    await slow.close();
  }
});

test('SIGHUP makes every worker reopen its access log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-workers-'));
  const file = join(dir, 'access.log');
  const adminPort = await freePort();
  const kura = await spawnKura(
    ['--workers', '2', '--origin', origin.url, '--admin-port', String(adminPort)],
    {
      KURA_LOG_LEVEL: 'info',
      KURA_LOG_ACCESS: file,
    },
  );
  const admin = `http://127.0.0.1:${adminPort}`;
  const lines = async (path: string) =>
    (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;
  /** Four GETs on connections of their own; every worker must have served one of them. */
  const traffic = async () => {
    const before = await stats(admin);
    for (let i = 0; i < 4; i++) assert.equal((await get(kura, 'hup/object.bin')).status, 200);
    const now = await stats(admin);
    for (const w of now.workers) {
      const was = before.workers.find((b) => b.worker === w.worker) as WorkerStats;
      const served = (s: WorkerStats) => Object.values(s.requests.byResult).reduce((a, b) => a + b, 0);
      assert.ok(served(w) > served(was), `worker ${w.worker} served some`);
    }
  };
  try {
    origin.put(BUCKET, 'hup/object.bin', randomBytes(10 * KiB));
    assert.ok(await waitUntil(async () => (await stats(admin)).workers.length === 2, 10_000));
    await traffic();
    assert.ok(await waitUntil(async () => (await lines(file)) === 4, 10_000));
    await rename(file, `${file}.1`);
    kura.child.kill('SIGHUP');
    assert.ok(
      await waitUntil(
        () => (kura.stderr().match(/access log reopened and rules file read/g) ?? []).length === 2,
        10_000,
      ),
      'both workers reopened',
    );
    await traffic();
    assert.ok(
      await waitUntil(async () => (await lines(file)) === 4, 10_000),
      'the new file has every new line',
    );
    assert.equal(await lines(`${file}.1`), 4, 'nothing more went to the moved file');
  } finally {
    await kura.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
