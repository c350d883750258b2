// The chunk codec gives its memory back: encoding and decoding 512 MiB of 4 MiB LZ4 chunks, a few alive at
// a time as a fill or a read from the cache keeps them, leaves the process's resident set nearly where it
// was (src/store/chunk-file.ts says which LZ4 calls kept what they had decoded, and why).

import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { chunkFileBytes, decodeChunk, encodeChunk } from '../../../src/store/chunk-file.js';

const CELL = 4 * 2 ** 20;
const ROUNDS = 128;
const LIMIT = 200 * 2 ** 20;
const TAG = Buffer.alloc(16, 7);

/** Bytes LZ4 shrinks to about half (random runs between repeated ones): each compressed chunk is megabytes. */
function halfRandom(): Buffer {
  const bytes = Buffer.alloc(CELL, 'kura');
  for (let at = 0; at < CELL; at += 128) randomFillSync(bytes, at, 64);
  return bytes;
}

test('encoding and decoding 512 MiB of LZ4 chunks grows the resident set by less than 200 MiB', async (t) => {
  const raw = halfRandom();
  const file = chunkFileBytes(
    await encodeChunk({ index: 0, full: true, pieces: [{ start: 0, bytes: raw }] }, 'lz4', TAG),
  );
  assert.equal(file[5], 1, 'the chunk is stored LZ4-compressed');
  assert.ok(file.length < CELL * 0.7 && file.length > CELL / 4, `LZ4 made it ${file.length} bytes`);
  const kept: unknown[] = [];
  const before = process.memoryUsage.rss();
  let peak = before;
  for (let i = 0; i < ROUNDS; i++) {
    const encoded = await encodeChunk(
      { index: 0, full: true, pieces: [{ start: 0, bytes: raw }] },
      'lz4',
      TAG,
    );
    const decoded = await decodeChunk(file, { index: 0, tag: TAG }, true);
    assert.ok(decoded.pieces[0]?.bytes.equals(raw), 'decoded to the bytes encoded');
    // A few chunks alive at once, as a fill's pending writes and a read's cells ahead are.
    kept.push(encoded, decoded);
    if (kept.length > 8) kept.splice(0, 2);
    await tick();
    peak = Math.max(peak, process.memoryUsage.rss());
  }
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const figure = `resident set from ${mb(before)} to a peak of ${mb(peak)}`;
  t.diagnostic(figure);
  assert.ok(peak - before < LIMIT, figure);
});
