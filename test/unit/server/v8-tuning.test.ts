// The V8 flags Kura sets for its collections (src/server/v8-tuning.ts): each only on the lines whose V8
// has it, since Node.js 22's V8 prints an error for a flag it does not know.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneV8 } from '../../../src/server/v8-tuning.js';

test('external memory is counted in V8’s global limit from Node.js 24 on; the heap grows by a fixed factor on every line', () => {
  const growing = '--heap-growing-percent=150';
  assert.deepEqual(tuneV8('22.23.3'), [growing]);
  assert.deepEqual(tuneV8('24.21.0'), ['--external-memory-accounted-in-global-limit', growing]);
  assert.deepEqual(tuneV8('26.10.0'), ['--external-memory-accounted-in-global-limit', growing]);
});

test('a growing factor given in node’s arguments is kept as given', () => {
  assert.deepEqual(tuneV8('26.10.0', ['--heap-growing-percent=0']), [
    '--external-memory-accounted-in-global-limit',
  ]);
});
