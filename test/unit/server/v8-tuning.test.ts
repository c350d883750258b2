// The V8 flags Kura sets for its collections (src/server/v8-tuning.ts): each only on the lines whose V8
// has it, since Node.js 22's V8 prints an error for a flag it does not know.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tuneV8 } from '../../../src/server/v8-tuning.js';

const growing = '--heap-growing-percent=150';
const pretenuring = '--no-allocation-site-pretenuring';

test('external memory is counted in V8’s global limit from Node.js 24 on; the heap grows by a fixed factor and nothing is pretenured on every line', () => {
  assert.deepEqual(tuneV8('22.23.3'), [growing, pretenuring]);
  assert.deepEqual(tuneV8('24.21.0'), ['--external-memory-accounted-in-global-limit', growing, pretenuring]);
  assert.deepEqual(tuneV8('26.10.0'), ['--external-memory-accounted-in-global-limit', growing, pretenuring]);
});

test('a growing factor or a pretenuring flag given in node’s arguments is kept as given', () => {
  assert.deepEqual(tuneV8('26.10.0', ['--heap-growing-percent=0']), [
    '--external-memory-accounted-in-global-limit',
    pretenuring,
  ]);
  assert.deepEqual(tuneV8('26.10.0', ['--allocation-site-pretenuring']), [
    '--external-memory-accounted-in-global-limit',
    growing,
  ]);
});
