import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BufferPool } from '../../../src/store/buffer-pool.js';

describe('BufferPool', () => {
  test('a released slab is handed out again, once', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take(1000);
    assert.equal(a.length, 1000);
    pool.release(a.subarray(10, 20));
    assert.equal(pool.free, 1);
    pool.release(a); // twice: the second is ignored, or two readers would share one slab
    assert.equal(pool.free, 1);
    const b = pool.take(900);
    assert.equal(b.buffer, a.buffer);
    const c = pool.take(900);
    assert.notEqual(c.buffer, a.buffer);
  });

  test('lengths Node pools itself, and those over a slab, get buffers of their own, never pooled', () => {
    const pool = new BufferPool(1024 * 1024, 4);
    const small = pool.take((Buffer.poolSize >>> 1) - 1);
    const big = pool.take(1024 * 1024 + 1);
    pool.release(small);
    pool.release(big);
    assert.equal(pool.free, 0);
    assert.ok(!pool.inSizeClass(small));
  });

  test('other lengths under half a slab come from size classes, eighths of a power of two', () => {
    const pool = new BufferPool(1024 * 1024, 2);
    const b = pool.take(65_600);
    assert.equal(b.length, 65_600);
    assert.equal(b.buffer.byteLength, 81_920, 'five eighths of 128 KiB');
    assert.ok(pool.inSizeClass(b));
    assert.equal(pool.take(200_000).buffer.byteLength, 229_376, 'seven eighths of 256 KiB');
    const half = pool.take(512 * 1024);
    assert.equal(half.buffer.byteLength, 1024 * 1024, 'half a slab and up: a slab');
    assert.ok(!pool.inSizeClass(half));
    pool.release(b);
    assert.equal(pool.take(70_000).buffer, b.buffer, 'the class is used again for any length it fits');
    assert.notEqual(pool.take(66_000).buffer, b.buffer, 'once');
  });

  test('free size-class buffers hold at most a quarter of the bytes of max free slabs', () => {
    const pool = new BufferPool(1024 * 1024, 2); // 512 KiB of free class buffers at most
    const many = Array.from({ length: 8 }, () => pool.take(100 * 1024)); // 112 KiB each
    for (const m of many) pool.release(m);
    assert.equal(pool.free, 4, '4 × 112 KiB fit in 512 KiB, a fifth does not');
    const again = Array.from({ length: 4 }, () => pool.take(100 * 1024));
    assert.equal(pool.free, 0);
    for (const m of again) pool.release(m);
    assert.equal(pool.free, 4, 'the count follows what is taken and given back');
  });

  test('buffers the pool did not make are not taken back', () => {
    const pool = new BufferPool(8192, 4);
    pool.release(Buffer.allocUnsafe(16)); // a view of Node's shared pool
    pool.release(Buffer.alloc(8192));
    pool.release(Buffer.alloc(65_536));
    assert.equal(pool.free, 0);
  });

  test('at most max slabs wait free', () => {
    const pool = new BufferPool(1024, 2);
    const taken = [pool.take(1024), pool.take(1024), pool.take(1024)];
    for (const b of taken) pool.release(b);
    assert.equal(pool.free, 2);
  });
});

describe('BufferPool references', () => {
  test('a slab goes back once every holder has released it', () => {
    const pool = new BufferPool(1024, 4);
    const cell = pool.take(1024);
    const client = cell.subarray(0, 512);
    pool.hold(client); // the socket
    pool.hold(cell); // the chunk writer
    pool.release(cell); // the taker
    pool.release(client);
    assert.equal(pool.free, 0, 'the chunk writer still holds it');
    pool.release(cell);
    assert.equal(pool.free, 1);
    pool.release(cell); // one release too many: ignored, the slab stays free once
    assert.equal(pool.free, 1);
    pool.hold(cell); // a hold on a free slab is no hold
    assert.equal(pool.take(1024).buffer, cell.buffer);
    assert.equal(pool.free, 0);
  });

  test('releaseAtEnd gives back the taker’s reference only with the view that ends the buffer', () => {
    const pool = new BufferPool(1024, 4);
    const cell = pool.take(1000);
    pool.releaseAtEnd(cell.subarray(0, 600));
    assert.equal(pool.free, 0);
    pool.releaseAtEnd(cell.subarray(600, 1000));
    assert.equal(pool.free, 1);
  });
});
