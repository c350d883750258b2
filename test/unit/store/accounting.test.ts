import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Accounting } from '../../../src/store/accounting.js';
import { capacityLimits, chooseVictims } from '../../../src/store/eviction.js';
import type { JournalEvent } from '../../../src/store/journal.js';

const chunk = (object: string, version: string, name: string, bytes: number): JournalEvent => ({
  kind: 'chunk',
  object,
  version,
  chunk: name,
  bytes,
});
const read = (object: string, count: number): JournalEvent => ({ kind: 'read', object, count });
const record = (object: string, bytes: number, source: 'get' | 'put' = 'get'): JournalEvent => ({
  kind: 'record',
  object,
  bytes,
  source,
});

describe('accounting', () => {
  test('chunk sizes are set, not added: a segment applied twice changes nothing', () => {
    const acc = new Accounting();
    const events = [record('b/o1', 100), chunk('b/o1', 'v1', '0', 1000), chunk('b/o1', 'v1', '1.p', 300)];
    for (const e of events) acc.apply(10, e);
    for (const e of events) acc.apply(10, e);
    assert.equal(acc.totalBytes, 1400);
    // The partial chunk becomes a full one: its file goes, the full one counts.
    acc.apply(11, chunk('b/o1', 'v1', '1', 900));
    acc.apply(11, { kind: 'chunk-removed', object: 'b/o1', version: 'v1', chunk: '1.p' });
    assert.equal(acc.totalBytes, 2000);
  });

  test('a removal leaves alone what was added after it, and a late add from before it is ignored', () => {
    const acc = new Accounting();
    acc.apply(10, chunk('b/o', 'v', '0', 1000));
    acc.apply(20, { kind: 'version-removed', object: 'b/o', version: 'v' });
    assert.equal(acc.totalBytes, 0);
    acc.apply(15, chunk('b/o', 'v', '1', 1000));
    assert.equal(acc.totalBytes, 0, 'an add journaled late but made before the removal');
    acc.apply(25, chunk('b/o', 'v', '1', 1000));
    assert.equal(acc.totalBytes, 1000, 'a refill after the removal');
    acc.apply(22, { kind: 'version-removed', object: 'b/o', version: 'v' });
    assert.equal(acc.totalBytes, 1000, 'a removal older than the refill keeps it counted');
  });

  test('saved and loaded, the totals and frequencies survive', () => {
    const acc = new Accounting();
    acc.apply(10, record('b/o', 50, 'put'));
    acc.apply(10, chunk('b/o', 'v', '0', 500));
    acc.apply(10, read('b/o', 3));
    const loaded = Accounting.load(JSON.parse(JSON.stringify(acc.save(11)))) as Accounting;
    assert.equal(loaded.totalBytes, 550);
    assert.equal(loaded.writtenBytes(), 550);
    assert.equal(loaded.objects.get('b/o')?.frequency, 3);
    assert.equal(Accounting.load({ format: 2 }), null);
  });
});

describe('eviction', () => {
  const limits = capacityLimits({
    maxBytes: 10_000,
    triggerPercent: 90,
    targetPercent: 70,
    admissionMs: 1_000,
    writeSharePercent: 50,
  });
  const now = 1_000_000;

  test('within the trigger nothing goes', () => {
    const acc = new Accounting();
    acc.apply(now - 5_000, chunk('b/a', 'v', '0', 8_000));
    assert.deepEqual(chooseVictims(acc, limits, now), []);
  });

  test('a one-time scan goes before the hot set, down to the target', () => {
    const acc = new Accounting();
    for (let i = 0; i < 4; i++) {
      acc.apply(now - 10_000, chunk(`b/hot${i}`, 'v', '0', 1_000));
      acc.apply(now - 9_000, read(`b/hot${i}`, 5));
    }
    for (let i = 0; i < 6; i++) acc.apply(now - 5_000 + i, chunk(`b/cold${i}`, 'v', '0', 1_000));
    const victims = chooseVictims(acc, limits, now).map((v) => v.object);
    assert.deepEqual(victims, ['b/cold0', 'b/cold1', 'b/cold2']);
  });

  test('young data is spared, and no older data worth more goes in its place, until critically full', () => {
    const acc = new Accounting();
    for (let i = 0; i < 5; i++) {
      acc.apply(now - 10_000, chunk(`b/hot${i}`, 'v', '0', 1_000));
      acc.apply(now - 9_000, read(`b/hot${i}`, 5));
    }
    for (let i = 0; i < 4; i++) acc.apply(now - 100, chunk(`b/new${i}`, 'v', '0', 1_000));
    assert.deepEqual(chooseVictims(acc, limits, now), [], '9 000 of 10 000: young, and the rest is hot');
    acc.apply(now - 100, chunk('b/new4', 'v', '0', 600));
    const victims = chooseVictims(acc, limits, now).map((v) => v.object);
    assert.ok(victims.length > 0 && victims.every((v) => v.startsWith('b/new')), `critical: ${victims}`);
  });

  test('objects cached by writes are held to their share', () => {
    const acc = new Accounting();
    for (let i = 0; i < 6; i++) {
      acc.apply(now - 10_000, record(`b/put${i}`, 0, 'put'));
      acc.apply(now - 10_000, chunk(`b/put${i}`, 'v', '0', 1_000));
    }
    const victims = chooseVictims(acc, limits, now);
    assert.ok(victims.every((v) => v.reason === 'write-share'));
    const left = 6_000 - victims.reduce((n, v) => n + v.bytes, 0);
    assert.ok(left <= 5_000, `${left} bytes of written objects left`);
  });
});
