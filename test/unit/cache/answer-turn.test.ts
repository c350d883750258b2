// Answers from the cache wait for the end of the event loop's turn and then go out together, in the
// order they were made (src/cache/exchange/answer-turn.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerTurn } from '../../../src/cache/exchange/answer-turn.js';

test('answers made in one turn share one wait and resume in order; one made meanwhile waits a turn more', async () => {
  const order: string[] = [];
  const a = answerTurn();
  const b = answerTurn();
  assert.equal(a, b, 'one wait per turn, not one per answer');
  const first = a.then(() => {
    order.push('a');
    // Made while the turn's answers are written: it goes out with the next turn's.
    return answerTurn().then(() => order.push('late'));
  });
  const second = b.then(() => order.push('b'));
  queueMicrotask(() => order.push('same turn'));
  await Promise.all([first, second]);
  assert.deepEqual(order, ['same turn', 'a', 'b', 'late']);
});
