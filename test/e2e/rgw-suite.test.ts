// The parity, signature, AWS CLI, read cache and herd tests again against a real S3: Ceph RGW behind a
// counting front (KURA_TEST_ORIGIN=rgw, read by test/support/origin.ts and the files themselves). They run
// one after another in a child test run, sharing the run's RGW (test/support/rgw.ts). The write-through
// files test RGW in sections of their own. RGW 16.2's gaps are in docs/testing.md. The herd's line (S3's
// bytes per object, each GET) is printed even when it passes: on a loaded machine it once showed 1.36-3.25
// times the object, readers fetching again when another instance's fetch ended between their two looks
// (docs/testing.md), since fixed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const NAMES = ['sdk-parity', 'signature', 'aws-cli', 'cache-read', 'cache-ranges', 'fleet-herd'];
const FILES = NAMES.map((name) => fileURLToPath(new URL(`./${name}.test.js`, import.meta.url)));

test(`${NAMES.join(', ')} pass against Ceph RGW`, async () => {
  // Without the variable the runner sets in the files it runs, which would make this one a no-op run.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...FILES],
    { env: { ...env, KURA_TEST_ORIGIN: 'rgw' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  // The herd's line (origin bytes per object), which a passing run would otherwise not show.
  for (const line of out.split('\n').filter((l) => /herd: origin body bytes/.test(l)))
    console.log(line.trim());
  const summary = out.split('\n').filter((l) => /^\S*\s*(ℹ|✖)/u.test(l) || /failing tests/.test(l));
  assert.equal(code, 0, `against RGW:\n${summary.join('\n')}\n${out.slice(-6000)}`);
  assert.match(out, /ℹ fail 0/);
  assert.match(out, /ℹ skipped 0/);
});
