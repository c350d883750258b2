// Reads of the cache wait for the end of the event loop's turn and then go on together, in the order they
// came; a read with no other in its turn, after a turn of one read, goes on at once
// (src/cache/read/read-turn.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTurn } from '../../../src/cache/read/read-turn.js';

const turnEnds = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a lone read goes on at once; reads of a busy turn share one wait and go on in order', async () => {
  // No turn has had reads yet: the first goes on at once, the ones that come with it wait.
  assert.equal(readTurn(), null, 'a lone read does not wait');
  const second = readTurn();
  assert.ok(second instanceof Promise, 'a second read in the same turn waits for its end');
  assert.equal(readTurn(), second, 'one wait per turn, not one per read');
  await second;

  // That turn had three reads: the next turn's first read waits with the rest.
  const order: string[] = [];
  const a = readTurn();
  const b = readTurn();
  assert.ok(a instanceof Promise && b instanceof Promise, 'after a busy turn the first read waits too');
  assert.equal(a, b);
  const first = a.then(() => {
    order.push('a');
    // Comes while the turn's reads go on: it goes on with the next turn's.
    const late = readTurn();
    assert.ok(late instanceof Promise, 'the turn before had two reads');
    return late.then(() => {
      order.push('late');
    });
  });
  const next = b.then(() => order.push('b'));
  queueMicrotask(() => order.push('same turn'));
  await Promise.all([first, next]);
  assert.deepEqual(order, ['same turn', 'a', 'b', 'late']);

  // The turn of `late` had that read only: a read on its own goes on at once again.
  await turnEnds();
  assert.equal(readTurn(), null, 'one read a turn: no wait');
  await turnEnds();
  assert.equal(readTurn(), null, 'and again');
});
