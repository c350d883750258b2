// The dashboard's data for a fleet: two real `kura serve` processes on one volume, one of them a group
// of two workers. After known traffic through each (misses, hits, a 404, a 503 from S3), the JSON that
// either one's dashboard reads has a row per instance with that instance's figures, and fleet totals
// that are their sums; an instance killed without a word drops out once its numbers go stale.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { statsPathOf } from '../../src/store/instance-stats.js';
import { errorCount, type Figures, readAndTally } from '../support/dashboard-tally.js';
import { waitUntil } from '../support/fleet.js';
import { freePort, type KuraProcess, spawnKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
const KiB = 1024;

interface Row extends Omit<Figures, 'errors'> {
  id: string;
  self: boolean;
  pid: number;
  workers: number;
  leader: boolean | null;
  hitRatio: number | null;
  errors: number;
}

interface Data {
  instance: { id: string };
  fleet: {
    totals: Figures & { members: number; workers: number; hitRatio: number | null };
    members: Row[];
    history: { at: string; requestsPerSecond: number; errorsPerMinute: Record<string, number> }[];
  };
}

let origin: MemoryOrigin;
let root: string;
const kuras: KuraProcess[] = [];
const admins: string[] = [];

before(async () => {
  origin = await startMemoryOrigin();
  root = await mkdtemp(join(tmpdir(), 'kura-dashboard-fleet-'));
  const dir = join(root, 'volume');
  for (const workers of [2, 1]) {
    const adminPort = await freePort();
    kuras.push(
      await spawnKura([
        '--cache-dir',
        dir,
        '--origin',
        origin.url,
        '--workers',
        String(workers),
        '--admin-port',
        String(adminPort),
      ]),
    );
    admins.push(`http://127.0.0.1:${adminPort}`);
  }
});
after(async () => {
  for (const k of kuras) await k.stop();
  await origin?.close();
  await rm(root, { recursive: true, force: true });
});

const data = async (admin: string) => (await (await fetch(`${admin}/dashboard/data`)).json()) as Data;

const drive = (kura: KuraProcess, keys: string[]) => readAndTally(kura.url, origin, BUCKET, keys);

test('each instance has its row with its own figures, and the fleet totals are their sums', async () => {
  const [a, b] = kuras as [KuraProcess, KuraProcess];
  const big = randomBytes(300 * KiB);
  const small = randomBytes(100 * KiB);
  origin.put(BUCKET, 'fleet/big.bin', big);
  origin.put(BUCKET, 'fleet/small.bin', small);
  origin.put(BUCKET, 'fleet/busy.bin', randomBytes(10 * KiB));

  // Through the worker group: a miss, three hits (on either worker), and a key S3 does not have.
  const fa = await drive(a, [
    'fleet/big.bin',
    'fleet/big.bin',
    'fleet/big.bin',
    'fleet/big.bin',
    'fleet/none',
  ]);
  assert.equal(fa.fromCache, 3, 'one miss, then hits through both workers');
  assert.equal(fa.errors['responses.4xx'], 1);
  // Through the single process: a hit on what the group cached, a miss, a hit, and S3 answering 503.
  origin.injectFault({ kind: 'status', status: 503, code: 'SlowDown' });
  const fb = await drive(b, ['fleet/busy.bin', 'fleet/big.bin', 'fleet/small.bin', 'fleet/small.bin']);
  assert.equal(fb.fromCache, 2, 'a hit on the volume the group filled, and one on its own fill');
  assert.deepEqual(fb.errors, { 'responses.5xx': 1, 'origin.http_5xx': 1 });

  const pids = [a.child.pid, b.child.pid];
  const expected = [fa, fb];
  // Requests are counted when their access-log line is written; the other's file is a sample old.
  let seen: Data | undefined;
  const settled = await waitUntil(async () => {
    seen = await data(admins[0] as string);
    return pids.every((pid, i) => {
      const row = seen?.fleet.members.find((m) => m.pid === pid);
      const f = expected[i] as Figures;
      return row !== undefined && row.requests === f.requests && row.bytesFromCache === f.bytesFromCache;
    });
  }, 20_000);
  assert.ok(settled, `both rows show their traffic: ${JSON.stringify(seen?.fleet.members)}`);
  const d = seen as Data;
  assert.equal(d.fleet.members.length, 2, 'one row per instance, not per worker');
  for (const [i, pid] of pids.entries()) {
    const row = d.fleet.members.find((m) => m.pid === pid) as Row;
    const f = expected[i] as Figures;
    const errors = errorCount(f);
    assert.deepEqual(
      {
        workers: row.workers,
        self: row.self,
        requests: row.requests,
        cacheable: row.cacheable,
        fromCache: row.fromCache,
        hitRatio: row.hitRatio,
        bytesFromCache: row.bytesFromCache,
        bytesFromS3: row.bytesFromS3,
        errors: row.errors,
      },
      {
        workers: i === 0 ? 2 : 1,
        self: i === 0,
        requests: f.requests,
        cacheable: f.cacheable,
        fromCache: f.fromCache,
        hitRatio: f.fromCache / f.cacheable,
        bytesFromCache: f.bytesFromCache,
        bytesFromS3: f.bytesFromS3,
        errors,
      },
      `the row of the instance with ${i === 0 ? 'two workers' : 'one process'}`,
    );
  }
  assert.equal(d.fleet.members.find((m) => m.self)?.id, d.instance.id);
  assert.ok(d.fleet.members.filter((m) => m.leader === true).length <= 1, 'one leader at most');

  const t = d.fleet.totals;
  assert.deepEqual(
    {
      members: t.members,
      workers: t.workers,
      requests: t.requests,
      cacheable: t.cacheable,
      fromCache: t.fromCache,
      bytesFromCache: t.bytesFromCache,
      bytesFromS3: t.bytesFromS3,
    },
    {
      members: 2,
      workers: 3,
      requests: fa.requests + fb.requests,
      cacheable: fa.cacheable + fb.cacheable,
      fromCache: fa.fromCache + fb.fromCache,
      bytesFromCache: fa.bytesFromCache + fb.bytesFromCache,
      bytesFromS3: fa.bytesFromS3 + fb.bytesFromS3,
    },
  );
  assert.equal(t.hitRatio, (fa.fromCache + fb.fromCache) / (fa.cacheable + fb.cacheable));
  const nonZero = Object.fromEntries(Object.entries(t.errors).filter(([, n]) => n > 0));
  assert.deepEqual(nonZero, { 'responses.4xx': 1, 'responses.5xx': 1, 'origin.http_5xx': 1 });
  for (const kind of ['origin.timeout', 'cache.chunk-write', 'cache.corrupt-chunk', 'cache.revalidation'])
    assert.equal(t.errors[kind], 0, `${kind} is listed, at 0`);
  assert.ok(d.fleet.history.length > 0, 'the history has points');

  // The other instance's dashboard shows the same fleet, with itself as "self".
  const fromB = await data(admins[1] as string);
  assert.deepEqual(fromB.fleet.members.map((m) => m.pid).sort(), [...pids].sort());
  assert.equal(fromB.fleet.members.find((m) => m.self)?.pid, b.child.pid);
  assert.equal(fromB.fleet.totals.requests, t.requests);
});

test('an instance killed without a word drops out once its numbers are stale', async () => {
  const [a, b] = kuras as [KuraProcess, KuraProcess];
  const bId = (await data(admins[1] as string)).instance.id;
  b.child.kill('SIGKILL');
  await new Promise((r) => b.child.once('exit', r));
  const file = statsPathOf(join(root, 'volume'), bId);
  assert.ok(existsSync(file), 'a killed instance leaves its file');
  let members: Row[] = [];
  const gone = await waitUntil(async () => {
    members = (await data(admins[0] as string)).fleet.members;
    return members.length === 1;
  }, 30_000);
  assert.ok(gone, `the dead instance is left out: ${JSON.stringify(members)}`);
  assert.equal(members[0]?.pid, a.child.pid);
});
