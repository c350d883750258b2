// SIGHUP makes a running `kura serve` read its cache rules file again (src/cli/main.ts, src/config/rules.ts):
// the new TTLs and bypasses apply to the next requests, sooner than the file poll could have seen them.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { presignedGet } from '../support/cache-client.js';
import { spawnKura } from '../support/kura.js';
import { startMemoryOrigin } from '../support/memory-origin.js';

const BUCKET = 'kura-test';
/**
 * The rules file poll applies a change once two reads 2 s apart agree (src/config/rules.ts): a change
 * seen sooner than this after the write was made by SIGHUP.
 */
const BEFORE_THE_POLL_MS = 1500;

test('SIGHUP applies a changed rules file: a new bypass and a new TTL', async () => {
  const origin = await startMemoryOrigin();
  const dir = await mkdtemp(join(tmpdir(), 'kura-rules-'));
  const rules = join(dir, 'rules.yaml');
  await writeFile(rules, ['rules:', '  - match: "kura-test/**"', '    get_ttl: 1d', ''].join('\n'));
  const kura = await spawnKura(['--origin', origin.url], { KURA_CONFIG: await configFile(dir, rules) });
  try {
    const bodies = { bypassed: randomBytes(1000), ttl: randomBytes(1000) };
    for (const [name, body] of Object.entries(bodies)) {
      origin.put(BUCKET, `reload/${name}.bin`, body);
      assert.equal((await presignedGet(kura.url, BUCKET, `reload/${name}.bin`)).xCache, 'MISS');
      assert.equal((await presignedGet(kura.url, BUCKET, `reload/${name}.bin`)).xCache, 'HIT');
    }

    const written = Date.now();
    await writeFile(
      rules,
      [
        'rules:',
        '  - match: "kura-test/reload/bypassed.bin"',
        '    read: false',
        '  - match: "kura-test/**"',
        '    get_ttl: 0s',
        '',
      ].join('\n'),
    );
    kura.child.kill('SIGHUP');
    let bypassed = await presignedGet(kura.url, BUCKET, 'reload/bypassed.bin');
    while (bypassed.xCache !== 'BYPASS' && Date.now() - written < BEFORE_THE_POLL_MS) {
      await sleep(20);
      bypassed = await presignedGet(kura.url, BUCKET, 'reload/bypassed.bin');
    }
    assert.equal(
      bypassed.xCache,
      'BYPASS',
      `the new rules did not apply within ${BEFORE_THE_POLL_MS} ms of SIGHUP`,
    );
    assert.ok(bypassed.body.equals(bodies.bypassed));

    // TTL 0 now: every read of a cached object asks S3, which answers 304.
    const from = origin.requests.length;
    const revalidated = await presignedGet(kura.url, BUCKET, 'reload/ttl.bin');
    assert.equal(revalidated.xCache, 'REVALIDATED');
    assert.ok(revalidated.body.equals(bodies.ttl));
    assert.deepEqual(
      origin.requests.slice(from).map((r) => `${r.method} ${r.status}`),
      ['GET 304'],
    );
    assert.match(kura.stderr(), /cache rules reloaded/);
  } finally {
    await kura.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function configFile(dir: string, rules: string): Promise<string> {
  const path = join(dir, 'kura.yaml');
  await writeFile(path, `cache:\n  rules: ${JSON.stringify(rules)}\n`);
  return path;
}
