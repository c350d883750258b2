// Reads of the cache wait for the end of the event loop's turn and then go on together, in the order they
// came (src/cache/read/read-turn.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTurn } from '../../../src/cache/read/read-turn.js';

test('reads that came in one turn share one wait and go on in order; one that comes meanwhile waits a turn more', async () => {
  const order: string[] = [];
  const a = readTurn();
  const b = readTurn();
  assert.equal(a, b, 'one wait per turn, not one per read');
  const first = a.then(() => {
    order.push('a');
    // Comes while the turn's reads go on: it goes on with the next turn's.
    return readTurn().then(() => order.push('late'));
  });
  const second = b.then(() => order.push('b'));
  queueMicrotask(() => order.push('same turn'));
  await Promise.all([first, second]);
  assert.deepEqual(order, ['same turn', 'a', 'b', 'late']);
});
