// A local volume's metadata calls (src/store/fs-calls.ts): synchronous while they are quick; one that
// keeps the event loop waiting sends them through the thread pool. A FIFO makes a real slow call: opening
// it for reading waits until another process opens it for writing.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalCalls, SLOW_SYNC_MS } from '../../../src/store/fs-calls.js';

test('local calls answer synchronously until one holds the event loop, then through the thread pool', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-fs-calls-'));
  try {
    const file = join(dir, 'record');
    writeFileSync(file, 'bytes');
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');

    const slow: [string, number][] = [];
    const calls = new LocalCalls((call, ms) => slow.push([call, ms]));

    const quick = calls.stat(file);
    assert.ok(!(quick instanceof Promise), 'a stat on a quick disk is synchronous');
    assert.equal(quick.size, 5);

    // The writer opens the FIFO a while after the synchronous open starts waiting for it.
    const writer = spawn('sh', ['-c', `sleep 0.2; echo x > '${fifo}'`], { stdio: 'ignore' });
    const fd = calls.openForReading(fifo);
    assert.equal(typeof fd, 'number');
    closeSync(fd as number);
    await once(writer, 'exit');

    assert.equal(slow.length, 1, 'the slow call is told of once');
    assert.equal(slow[0]?.[0], 'open');
    assert.ok((slow[0]?.[1] ?? 0) > SLOW_SYNC_MS, `took ${slow[0]?.[1]} ms`);

    const pooled = calls.stat(file);
    assert.ok(pooled instanceof Promise, 'after a slow call, a stat goes through the thread pool');
    assert.equal((await pooled).size, 5);
    await assert.rejects(async () => calls.stat(join(dir, 'missing')), { code: 'ENOENT' });
    assert.equal(slow.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
