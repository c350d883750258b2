// The fill writer's plan, against a real volume: one directory creation per version (not per chunk),
// one write per cell made of the answer's own buffers (no copy), the codec decided once from a sample,
// and the budget rule: a fill with a client skips a chunk when the disk is behind, one without waits.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChunkSink, joinViews, type SinkTarget } from '../../../src/cache/chunk-sink.js';
import { Inflight } from '../../../src/cache/inflight.js';
import { CacheStats } from '../../../src/cache/stats.js';
import { WriteBudget } from '../../../src/cache/write-budget.js';
import { ChunkStore } from '../../../src/store/chunks.js';
import type { ChunkPiece, Codec, ObjectVersion } from '../../../src/store/types.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';
import { createLogger } from '../../../src/telemetry/log.js';

const CELL = 64 * 1024;
let root: string;
let volume: Volume;
let serial = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kura-sink-'));
  volume = await openVolume({ dir: join(root, 'vol'), chunkSize: CELL, instanceId: 'test' });
});
after(() => rm(root, { recursive: true, force: true }));

/** A real chunk store, with every call the sink makes to it recorded. */
function recordingStore() {
  const store = new ChunkStore(volume);
  const calls = {
    prepareVersion: 0,
    writes: [] as { index: number; pieces: readonly ChunkPiece[]; codec: Codec }[],
  };
  const chunks: SinkTarget['chunks'] = {
    prepareVersion: (v) => {
      calls.prepareVersion += 1;
      return store.prepareVersion(v);
    },
    write: (v, index, cellLength, pieces, codec) => {
      calls.writes.push({ index, pieces, codec });
      return store.write(v, index, cellLength, pieces, codec);
    },
  };
  return { store, calls, chunks };
}

function target(
  chunks: SinkTarget['chunks'],
  size: number,
  opts: { codec?: Codec; budget?: WriteBudget; stats?: CacheStats } = {},
) {
  serial++;
  const version: ObjectVersion = { namespace: 'aws', bucket: 'sink-tests', key: `o-${serial}`, etag: '"e"' };
  const t: SinkTarget = {
    chunks,
    inflight: new Inflight(),
    stats: opts.stats ?? new CacheStats(),
    log: createLogger('error'),
    budget: opts.budget ?? new WriteBudget(64 * CELL),
    version,
    versionId: `sink-tests/o-${serial}`,
    size,
    chunkSize: CELL,
    codec: opts.codec ?? 'raw',
    sniff: null,
  };
  return t;
}

/** Feeds `body` to the sink in pieces of `piece` bytes, as an S3 answer arrives. */
function feed(sink: ChunkSink, body: Buffer, piece: number): Buffer[] {
  const given: Buffer[] = [];
  for (let at = 0; at < body.length; at += piece) {
    const data = Buffer.from(body.subarray(at, at + piece));
    given.push(data);
    sink.write(data);
  }
  return given;
}

describe('ChunkSink', () => {
  test('one directory creation per version; one write per cell, of the answer’s own buffers', async () => {
    const { store, calls, chunks } = recordingStore();
    const size = 5 * CELL + 1234;
    const t = target(chunks, size);
    const body = randomBytes(size);
    const sink = new ChunkSink(t, 0, size);
    const given = feed(sink, body, 10_000);
    await sink.finish(true);

    assert.equal(calls.prepareVersion, 1, 'the version directory is made once');
    assert.deepEqual(
      calls.writes.map((w) => w.index),
      [0, 1, 2, 3, 4, 5],
    );
    const backing = new Set(given.map((b) => b.buffer));
    for (const w of calls.writes) {
      for (const p of w.pieces) assert.ok(backing.has(p.bytes.buffer as ArrayBuffer), 'a view, not a copy');
    }
    for (let i = 0; i <= 5; i++) {
      const read = await store.read(t.version, i, Math.min(CELL, size - i * CELL));
      assert.equal(read?.full, true);
      assert.ok(read?.pieces[0]?.bytes.equals(body.subarray(i * CELL, Math.min(size, (i + 1) * CELL))));
    }
  });

  test('a cell that arrives as views of one buffer is written as that one buffer', async () => {
    const { calls, chunks } = recordingStore();
    const size = 2 * CELL;
    const t = target(chunks, size);
    // As a plain-HTTP origin's body arrives: each cell read into a buffer of its own, in several reads.
    const cells = [randomBytes(CELL), randomBytes(CELL)];
    const sink = new ChunkSink(t, 0, size);
    for (const cell of cells)
      for (let at = 0; at < CELL; at += 5000) sink.write(cell.subarray(at, at + 5000));
    await sink.finish(true);
    assert.deepEqual(
      calls.writes.map((w) => w.pieces.length),
      [1, 1],
      'one piece per cell',
    );
    for (const [i, cell] of cells.entries()) {
      const piece = calls.writes[i]?.pieces[0];
      assert.equal(piece?.bytes.buffer, cell.buffer, 'the cell’s own buffer, not a copy');
      assert.ok(piece?.bytes.equals(cell));
    }
    // Views of one buffer that are not consecutive are not joined: their bytes are not the cell's.
    const b = randomBytes(100);
    assert.equal(
      joinViews(
        [
          { start: 0, bytes: b.subarray(0, 10) },
          { start: 10, bytes: b.subarray(20, 30) },
        ],
        20,
      ),
      null,
    );
  });

  test('LZ4 is tried on a sample before any chunk is compressed: random bytes are stored raw', async () => {
    const { calls, chunks } = recordingStore();
    const size = 4 * CELL;
    const t = target(chunks, size, { codec: 'lz4' });
    let told: Codec | null = null;
    t.onCodec = (c) => {
      told = c;
    };
    const sink = new ChunkSink(t, 0, size);
    feed(sink, randomBytes(size), 65_536);
    await sink.finish(true);
    assert.deepEqual(
      calls.writes.map((w) => w.codec),
      ['raw', 'raw', 'raw', 'raw'],
    );
    assert.equal(told, 'raw', 'the record learns the codec');

    const text = Buffer.from('a line of text that LZ4 shrinks well\n'.repeat(size / 37 + 1)).subarray(
      0,
      size,
    );
    const second = recordingStore();
    const sink2 = new ChunkSink(target(second.chunks, size, { codec: 'lz4' }), 0, size);
    feed(sink2, text, 65_536);
    await sink2.finish(true);
    assert.deepEqual(
      second.calls.writes.map((w) => w.codec),
      ['lz4', 'lz4', 'lz4', 'lz4'],
    );
  });

  test('with the budget spent, a fill with a client skips chunks; a patient one keeps them all', async () => {
    for (const patient of [false, true]) {
      const { store, chunks } = recordingStore();
      const stats = new CacheStats();
      // Room for one chunk: the others arrive while it is still being written.
      const t = target(chunks, 6 * CELL, { budget: new WriteBudget(CELL), stats });
      const sink = new ChunkSink(t, 0, 6 * CELL);
      if (patient) sink.bePatient();
      feed(sink, randomBytes(6 * CELL), CELL);
      await sink.finish(true);
      const kept = (await Promise.all([0, 1, 2, 3, 4, 5].map((i) => store.read(t.version, i, CELL)))).filter(
        (c) => c !== null,
      ).length;
      if (patient) {
        assert.equal(kept, 6);
        assert.equal(stats.chunksSkipped, 0);
      } else {
        assert.ok(stats.chunksSkipped > 0, 'skipped while the disk was behind');
        assert.equal(kept + stats.chunksSkipped, 6);
      }
    }
  });
});
