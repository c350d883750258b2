// The read cache, write-through and fleet tests again with every Kura a group of 2 worker processes
// (KURA_TEST_WORKERS, read by test/support/kura.ts): what one worker cached, wrote or leased must hold
// for the other. They run one after another in a child test run, so that the suite's own concurrency
// is not doubled.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FILES = ['cache-read', 'write-through-put', 'write-through-multipart', 'fleet-herd'].map((name) =>
  fileURLToPath(new URL(`./${name}.test.js`, import.meta.url)),
);

test('cache-read, write-through-put, write-through-multipart and fleet-herd pass with 2 workers', async () => {
  // Without the variable the runner sets in the files it runs, which would make this one a no-op run.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...FILES],
    {
      env: { ...env, KURA_TEST_WORKERS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const summary = out.split('\n').filter((l) => /^\S*\s*(ℹ|✖)/u.test(l) || /failing tests/.test(l));
  assert.equal(code, 0, `with 2 workers:\n${summary.join('\n')}\n${out.slice(-6000)}`);
  assert.match(out, /ℹ fail 0/);
});
