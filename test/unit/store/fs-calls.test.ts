// A local volume's calls (src/store/fs-calls.ts): synchronous while they are quick; one that keeps the
// event loop waiting sends them through the thread pool, and so do data reads that wait for the device.
// A FIFO makes a real slow call: opening it for reading waits until another process opens it for
// writing, and a read from it until the writer writes.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LocalCalls,
  SLOW_READS_TO_POOL,
  SLOW_SYNC_MS,
  SYNC_READ_MAX_BYTES,
} from '../../../src/store/fs-calls.js';

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

test('a local volume reads small files synchronously until reads wait for the device, then through the thread pool', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kura-fs-calls-'));
  try {
    const file = join(dir, 'chunk');
    writeFileSync(file, Buffer.alloc(SYNC_READ_MAX_BYTES + 1, 7));
    const calls = new LocalCalls();
    const fd = calls.openForReading(file) as number;
    const small = Buffer.alloc(4096);
    const quick = calls.read(fd, small, 0, small.length, 0);
    assert.equal(quick, 4096, 'a small read from the page cache is synchronous');
    assert.equal(small[4095], 7);
    const large = Buffer.alloc(SYNC_READ_MAX_BYTES + 1);
    const pooledLarge = calls.read(fd, large, 0, large.length, 0);
    assert.ok(pooledLarge instanceof Promise, 'a large read goes through the thread pool');
    assert.equal(await pooledLarge, large.length);
    closeSync(fd);

    // Reads that wait: a FIFO whose writer sends one byte every 5 ms stands in for a disk.
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const writer = spawn('sh', ['-c', `for i in $(seq 40); do printf x; sleep 0.005; done > '${fifo}'`], {
      stdio: 'ignore',
    });
    const slowFd = calls.openForReading(fifo) as number;
    const one = Buffer.alloc(1);
    let sync = 0;
    for (;;) {
      const n = calls.read(slowFd, one, 0, 1, -1);
      if (n instanceof Promise) {
        assert.equal(await n, 1, 'the pooled read still reads');
        break;
      }
      assert.equal(n, 1);
      sync += 1;
      assert.ok(sync <= SLOW_READS_TO_POOL, 'reads that wait are sent to the thread pool');
    }
    assert.equal(sync, SLOW_READS_TO_POOL, 'reads turn pooled after SLOW_READS_TO_POOL slow ones');
    const stat = calls.stat(file);
    assert.ok(!(stat instanceof Promise), 'the metadata calls stay synchronous');
    closeSync(slowFd);
    writer.kill();
    await once(writer, 'exit');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
