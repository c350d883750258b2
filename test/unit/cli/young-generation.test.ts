import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEMI_SPACE_MIB, youngGenerationArgs } from '../../../src/cli/young-generation.js';

const bin = ['/usr/bin/node', '/opt/kura/bin/kura.js'];

test('kura serve runs again with the semi-space size, its own arguments and node arguments kept', () => {
  assert.deepEqual(youngGenerationArgs([...bin, 'serve', '--http-port', '8000'], ['--cpu-prof'], undefined), [
    '--cpu-prof',
    `--max-semi-space-size=${SEMI_SPACE_MIB}`,
    '/opt/kura/bin/kura.js',
    'serve',
    '--http-port',
    '8000',
  ]);
});

test('a size the operator gave is kept, in node arguments or NODE_OPTIONS', () => {
  assert.equal(youngGenerationArgs([...bin, 'serve'], ['--max-semi-space-size=64'], undefined), null);
  assert.equal(youngGenerationArgs([...bin, 'serve'], ['--max-semi-space-size', '64'], undefined), null);
  assert.equal(
    youngGenerationArgs([...bin, 'serve'], [], '--openssl-legacy-provider --max-semi-space-size=2'),
    null,
  );
});

test('other commands do not run again', () => {
  assert.equal(youngGenerationArgs([...bin, 'cache', 'stats'], [], undefined), null);
  assert.equal(youngGenerationArgs([...bin], [], ''), null);
});
