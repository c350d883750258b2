import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Journal, parseSegment } from '../../../src/store/journal.js';
import { LeaderLock } from '../../../src/store/leader.js';
import { FetchLeases } from '../../../src/store/leases.js';
import { InstanceLiveness } from '../../../src/store/liveness.js';
import { RecordStore } from '../../../src/store/records.js';
import type { ObjectRecord } from '../../../src/store/types.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';

let root: string;
let a: Volume;
let b: Volume;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-fleet-files-'));
  a = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-a' });
  b = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-b' });
});
after(() => rm(root, { recursive: true, force: true }));

const v = { namespace: 'aws', bucket: 'fleet', key: 'some key', etag: '"e1"' };

describe('journal', () => {
  test('events are appended per instance, rotated into closed segments, and parsed back', async () => {
    const journal = new Journal(a, { flushMs: 60_000, segmentBytes: 1 << 20, segmentAgeMs: 60_000 });
    await journal.start();
    journal.chunkWritten(v, '0', 1234);
    journal.objectRead(v);
    journal.objectRead(v);
    await journal.flush();
    const dir = join(root, 'journal', 'inst-a');
    assert.ok(
      (await readdir(dir)).some((n) => n.endsWith('.open')),
      'the open segment',
    );
    journal.recordRemoved(v);
    await journal.close();
    const closed = (await readdir(dir)).filter((n) => n.endsWith('.log'));
    assert.equal(closed.length, 1);
    const events = parseSegment(await readFile(join(dir, closed[0] as string), 'utf8')).map((e) => e.event);
    const id = a.objectId(v);
    assert.deepEqual(
      events.map((e) => e.kind),
      ['chunk', 'read', 'record-removed'],
    );
    assert.deepEqual(events[0], {
      kind: 'chunk',
      object: id,
      version: events[0]?.kind === 'chunk' ? events[0].version : '',
      chunk: '0',
      bytes: 1234,
    });
    assert.deepEqual(events[1], { kind: 'read', object: id, count: 2 });
    const beat = JSON.parse(await readFile(join(dir, 'heartbeat.json'), 'utf8'));
    assert.equal(beat.stopped, true);
  });

  test('a torn last line (a crash mid-append) is skipped', () => {
    const text = 'T 5\nC b/o v 0 100 5\nC b/o v 1 10';
    assert.deepEqual(
      parseSegment(text).map((e) => e.event.kind),
      ['chunk'],
    );
  });
});

describe('fetch leases', () => {
  for (const local of [true, false]) {
    test(`one instance takes the first fetch of an object; the other sees it held until released (${local ? 'a local volume' : 'a volume not known to be local, its calls through the thread pool'})`, async () => {
      const [va, vb] = local
        ? [a, b]
        : [
            await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-ra', local }),
            await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-rb', local }),
          ];
      assert.equal(va.local, local);
      const k = { ...v, key: `first-fetch-${local}` };
      const la = new FetchLeases(va, 10_000);
      const lb = new FetchLeases(vb, 10_000);
      const lease = await la.takeObjectFill(k);
      assert.ok(lease);
      assert.equal(await lb.takeObjectFill(k), null);
      assert.ok((await lb.objectFillHeld(k)) !== null);
      await lease.release();
      const again = await lb.takeObjectFill(k);
      assert.ok(again, 'released: the other takes it');
      await again.release();
    });
  }

  test("leases are files in their bucket's shard: no directory of the object's own", async () => {
    const la = new FetchLeases(a, 10_000);
    const lease = await la.takeObjectFill(v);
    assert.ok(lease);
    const [bucket, shard, , hash] = a.objectId(v).split('/');
    const shardDir = join(root, 'leases', bucket as string, shard as string);
    assert.deepEqual(await readdir(shardDir), [`${hash}.fill`]);
    const run = await la.announceRun(v, 0, 3);
    assert.equal((await readdir(shardDir)).length, 2, 'a run lease is a file beside it');
    await run.release();
    await lease.release();
    assert.deepEqual(await readdir(shardDir), [], 'released: the files go, the shard stays for the next');
  });

  test('an expired lease is taken over', async () => {
    const la = new FetchLeases(a, 1);
    const lb = new FetchLeases(b, 10_000);
    assert.ok(await la.takeObjectFill(v));
    await new Promise((r) => setTimeout(r, 10));
    const taken = await lb.takeObjectFill(v);
    assert.ok(taken);
    await taken.release();
  });

  test('a first-fetch lease found empty is being written: it stands while young, and is torn when old', async () => {
    const la = new FetchLeases(a, 10_000);
    const lb = new FetchLeases(b, 10_000);
    const lease = await la.takeObjectFill(v);
    assert.ok(lease);
    // The moment between another instance's exclusive create and its write.
    const { shard, hash } = a.leasePlace(v);
    const path = join(shard, `${hash}.fill`);
    await writeFile(path, '');
    assert.equal(await lb.takeObjectFill(v), null, 'an empty young lease is not taken over');
    assert.ok((await lb.objectFillHeld(v)) !== null, 'and is reported held');
    // A crash between the create and the write, long ago: the torn lease promises nothing.
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    assert.equal(await lb.objectFillHeld(v), null);
    const taken = await lb.takeObjectFill(v);
    assert.ok(taken, 'an old torn lease is taken over');
    assert.equal(JSON.parse(await readFile(path, 'utf8')).instance, 'inst-b');
    await taken.release();
    await lease.release();
  });

  test('a run announced by one instance is seen by the others, not by itself', async () => {
    const la = new FetchLeases(a, 10_000);
    const lb = new FetchLeases(b, 10_000);
    const run = await la.announceRun(v, 3, 7);
    assert.deepEqual(
      (await lb.heldRuns(v)).map((r) => [r.first, r.last]),
      [[3, 7]],
    );
    assert.deepEqual(await la.heldRuns(v), []);
    await run.release();
    assert.deepEqual(await lb.heldRuns(v), []);
  });
});

describe('leader lock', () => {
  test('one leader at a time; a new term has a larger fencing token and the old one may not delete', async () => {
    const la = new LeaderLock(a, 5_000);
    const lb = new LeaderLock(b, 5_000);
    assert.equal(await la.tryAcquire(), true);
    assert.equal(await lb.tryAcquire(), false);
    assert.equal(await la.stillLeader(), true);
    const first = la.token;
    await la.release();
    assert.equal(await lb.tryAcquire(), true);
    assert.ok(lb.token > first);
    assert.equal(await la.stillLeader(), false);
    assert.equal(await lb.stillLeader(), true);
    await lb.release();
  });
});

describe('record tombstones', () => {
  const k = { namespace: 'aws', bucket: 'fleet', key: 'raced' };
  const rec = (at: number): ObjectRecord => ({
    format: 1,
    ...k,
    etag: '"old"',
    size: 1,
    lastModified: null,
    headers: [],
    checksums: null,
    partsCount: null,
    parts: {},
    source: 'get',
    codec: 'raw',
    validatedGet: at,
    validatedHead: null,
    createdAt: at,
  });

  test('an answer S3 gave before a removal does not bring the record back; a later one does', async () => {
    const records = new RecordStore(a);
    const before = Date.now() - 1_000;
    await records.update(k, () => rec(before));
    await records.remove(k);
    assert.equal(await records.update(k, () => rec(before)), null);
    assert.equal(await records.read(k), null);
    const later = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await records.update(k, () => rec(later)))?.validatedGet, later);
  });
});

describe('dead instances', () => {
  test('a reader ignores the leases of an instance whose heartbeat says it is dead, and takes over its fill', async () => {
    const c = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-c' });
    const d = await openVolume({ dir: root, chunkSize: 65536, instanceId: 'inst-d' });
    const liveness = new InstanceLiveness(root, { flushMs: 100, silentAfterMs: 60_000 });
    const lc = new FetchLeases(c, 60_000);
    const ld = new FetchLeases(d, 60_000, (instance) => liveness.isDead(instance));
    const k = { namespace: 'aws', bucket: 'fleet', key: 'dead holder', etag: '"e9"' };
    const beat = (stopped: boolean) => {
      const body = {
        instance: 'inst-c',
        host: 'elsewhere',
        pid: 1,
        startedAt: 0,
        lastSeen: Date.now(),
        stopped,
      };
      return writeFile(join(root, 'journal', 'inst-c', 'heartbeat.json'), JSON.stringify(body));
    };
    await mkdir(join(root, 'journal', 'inst-c'), { recursive: true });
    await beat(false);
    assert.ok(await lc.takeObjectFill(k));
    await lc.announceRun(k, 0, 3);
    assert.equal((await ld.heldRuns(k)).length, 1, 'a live holder is waited for');
    assert.equal(await ld.takeObjectFill(k), null);
    await beat(true);
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await ld.heldRuns(k), [], 'a dead holder is not');
    assert.equal(await ld.objectFillHeld(k), null);
    assert.ok(await ld.takeObjectFill(k), 'its first-fetch lease is taken over before it expires');
  });
});
