import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { effectiveCapacity } from '../../../src/store/disk-space.js';
import { type GateMember, VolumeSpaceGate, WRITE_SLACK_BYTES } from '../../../src/store/space-gate.js';
import { leaderSummary as summary } from '../../support/leader-summary.js';

const MiB = 2 ** 20;

/** Other live instances that count `me` and base on no summary yet. */
function members(n: number): GateMember[] {
  return Array.from({ length: n }, (_, i) => ({ instance: `other-${i}`, basis: 0, counting: ['me'] }));
}

describe('space gate', () => {
  test('each of n instances keeps its pending bytes within 1/n of the room left', () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    gate.update(summary(5 * MiB), members(2), null);
    // Room 3 MiB, 1 MiB each: chunks of 256 KiB (+ slack) fit three times, not four.
    let admitted = 0;
    while (gate.mayWrite(256 * 1024)) {
      gate.wrote(256 * 1024);
      gate.settle(256 * 1024);
      admitted += 1;
    }
    assert.equal(admitted, Math.floor((MiB - WRITE_SLACK_BYTES) / (256 * 1024)));
    assert.equal(gate.refused, 1);
    assert.ok(gate.estimate() <= 8 * MiB);
  });

  test('writes stay pending until the leader says it consolidated them, however late', async () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    gate.update(summary(0), [], null);
    assert.ok(gate.mayWrite(4 * MiB));
    gate.wrote(4 * MiB);
    gate.settle(4 * MiB);
    const writtenAt = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    // A lagging leader: a newer summary that does not include the write yet.
    gate.update(summary(0, { me: writtenAt - 1, other: Date.now() }), [], null);
    assert.equal(gate.pendingBytes(), 4 * MiB);
    assert.equal(gate.mayWrite(4 * MiB), false, 'the lagging total plus pending would pass max_size');
    // Now it is included in the total, and no longer pending.
    gate.update(summary(4 * MiB, { me: Date.now() }), [], null);
    assert.equal(gate.pendingBytes(), 0);
    assert.equal(gate.estimate(), 4 * MiB);
  });

  test('a write stays pending until every live instance has read a summary that includes it', async () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    gate.update(summary(0), [{ instance: 'other', basis: 0, counting: ['other', 'me'] }], null);
    assert.ok(gate.mayWrite(MiB));
    gate.wrote(MiB);
    gate.settle(MiB);
    await new Promise((r) => setTimeout(r, 5));
    const including = { ...summary(MiB, { me: Date.now() }), savedAt: Date.now() };
    // The other instance still judges by an older summary, whose total lacks this write.
    const other = { instance: 'other', counting: ['other', 'me'] };
    gate.update(including, [{ ...other, basis: including.savedAt - 1 }], null);
    assert.equal(gate.pendingBytes(), MiB);
    gate.update(including, [{ ...other, basis: including.savedAt }], null);
    assert.equal(gate.pendingBytes(), 0);
  });

  test('an instance keeps its basis while its pending bytes exceed its share of a newer total', async () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    const other = { instance: 'other', basis: 0, counting: ['other', 'me'] };
    const empty = summary(0);
    gate.update(empty, [other], null);
    // Judged by an empty volume: 3 MiB is within a share of 4 MiB.
    assert.ok(gate.mayWrite(3 * MiB));
    gate.wrote(3 * MiB);
    gate.settle(3 * MiB);
    const first = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    // The leader has consolidated the other instance's 5 MiB, not these 3: room 3 MiB, 1.5 MiB each.
    const newer = summary(5 * MiB, { me: first - 1, other: Date.now() });
    gate.update(newer, [other], null);
    assert.equal(gate.summarySeen, empty.savedAt, 'a newer basis would tell the other its share is 1.5 MiB');
    assert.equal(gate.mayWrite(64 * 1024), false);
    await new Promise((r) => setTimeout(r, 5));
    // Once the leader includes them, they fit: the newer summary becomes the basis.
    const including = summary(8 * MiB - 64 * 1024, { me: Date.now(), other: Date.now() });
    gate.update(including, [other], null);
    assert.equal(gate.summarySeen, including.savedAt);
  });

  test('a newcomer admits nothing until every other live instance counts it', () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    gate.update(summary(0), [{ instance: 'a', basis: 0, counting: ['a'] }], null);
    assert.deepEqual(gate.counting, ['me', 'a']);
    assert.equal(gate.counted, false);
    assert.equal(gate.mayWrite(64 * 1024), false);
    assert.equal(gate.refusedJoining, 1);
    // An instance that has not read the fleet yet, or an older Kura, says nothing: it is not waited for.
    gate.update(summary(0), [{ instance: 'a', basis: 0, counting: ['a', 'me'] }, { instance: 'b' }], null);
    assert.equal(gate.counted, true);
    assert.ok(gate.mayWrite(64 * 1024));
  });

  test('an instance counts a newcomer only once its pending bytes fit the smaller share', async () => {
    const gate = new VolumeSpaceGate('me', 8 * MiB);
    gate.update(summary(0), [], null);
    assert.ok(gate.mayWrite(6 * MiB));
    gate.wrote(6 * MiB);
    gate.settle(6 * MiB);
    // With a second instance its share would be 4 MiB: it holds 6.
    gate.update(summary(0), [{ instance: 'new', basis: 0, counting: ['new', 'me'] }], null);
    assert.deepEqual(gate.counting, ['me']);
    await new Promise((r) => setTimeout(r, 5));
    gate.update(
      summary(6 * MiB, { me: Date.now() }),
      [{ instance: 'new', basis: 0, counting: ['new', 'me'] }],
      null,
    );
    assert.deepEqual(gate.counting, ['me', 'new']);
  });

  test('a write in flight holds its place until settled', () => {
    const gate = new VolumeSpaceGate('me', 2 * MiB);
    gate.update(summary(0), [], null);
    assert.ok(gate.mayWrite(MiB));
    assert.equal(gate.mayWrite(MiB), false);
    gate.settle(MiB);
    assert.ok(gate.mayWrite(MiB));
  });

  test("the file system's free space, less its reserve, bounds writes too", () => {
    const gate = new VolumeSpaceGate('me', 100 * 2 ** 30);
    gate.update(summary(0), members(1), { availableBytes: 3 * MiB, sizeBytes: 64 * MiB, reserveBytes: MiB });
    assert.ok(gate.mayWrite(512 * 1024));
    gate.wrote(512 * 1024);
    gate.settle(512 * 1024);
    // 2 MiB above the reserve, shared by 2 instances: 1 MiB each, half of it used.
    assert.equal(gate.mayWrite(512 * 1024), false);
    assert.equal(gate.refusedDisk, 1);
    // A new look at the file system finds the writes before it in its free space: they count there only.
    gate.update(summary(0), members(1), { availableBytes: 3 * MiB, sizeBytes: 64 * MiB, reserveBytes: MiB });
    assert.ok(gate.mayWrite(512 * 1024));
  });

  test('capacity is the lesser of max_size and what the file system holds beside its reserve', () => {
    const disk = { availableBytes: 10 * MiB, sizeBytes: 64 * MiB, reserveBytes: 2 * MiB };
    assert.equal(effectiveCapacity(100 * 2 ** 30, 50 * MiB, disk), 58 * MiB);
    assert.equal(effectiveCapacity(8 * MiB, 50 * MiB, disk), 8 * MiB);
    assert.equal(effectiveCapacity(8 * MiB, 0, null), 8 * MiB);
  });
});
