// Fetch leases against the moment another instance finishes: it writes what it fetched (the record, the
// chunks) and only then lets go of its lease, so a reader that finds the lease gone must look again for
// what it left. Each test makes the other instance finish exactly between the reader's two looks, as a
// busy host does (the herd against RGW sent S3 the object twice, and cells again, without these looks).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Cache } from '../../../src/cache/cache.js';
import type { Exchange } from '../../../src/cache/exchange/exchange.js';
import type { BodyJob } from '../../../src/cache/read/body-job.js';
import { planRange } from '../../../src/cache/read/cached-body.js';
import { awaitColdFillElsewhere, takeColdFillLease } from '../../../src/cache/read/fetch-lease.js';
import { buildConfig } from '../../../src/config/load.js';
import { ChunkStore } from '../../../src/store/chunks.js';
import { versionName } from '../../../src/store/key-names.js';
import { FetchLeases } from '../../../src/store/leases.js';
import { RecordStore } from '../../../src/store/records.js';
import type { ObjectKey, ObjectRecord } from '../../../src/store/types.js';
import { openVolume, type Volume } from '../../../src/store/volume.js';
import { createLogger } from '../../../src/telemetry/log.js';

const CS = 65536;

let dir: string;
let cache: Cache;
/** The other instance on the same volume. */
let other: { volume: Volume; leases: FetchLeases; records: RecordStore; chunks: ChunkStore };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kura-lease-races-'));
  const built = buildConfig({ cache: { chunk_size: CS } }, [
    { path: 'cache.dir', value: dir, source: 'test' },
  ]);
  assert.ok(built.ok);
  cache = await Cache.open(built.config, createLogger('error'));
  const volume = await openVolume({ dir, chunkSize: CS, instanceId: 'other' });
  other = {
    volume,
    leases: new FetchLeases(volume, 20_000),
    records: new RecordStore(volume),
    chunks: new ChunkStore(volume),
  };
});
after(async () => {
  await cache.close();
  await rm(dir, { recursive: true, force: true });
});

function recordOf(k: ObjectKey, size: number): ObjectRecord {
  const now = Date.now();
  return {
    format: 1,
    ...k,
    etag: '"e1"',
    size,
    lastModified: null,
    headers: [],
    checksums: null,
    partsCount: null,
    parts: {},
    source: 'get',
    codec: 'raw',
    validatedGet: now,
    validatedHead: null,
    createdAt: now,
  };
}

test('a cold fill whose holder writes its record and lets go between two looks is waited for', async () => {
  const k = { namespace: 'aws', bucket: 'bkt', key: 'cold' };
  const lease = await other.leases.takeObjectFill(k);
  assert.ok(lease, 'the other instance holds the first fetch');
  const read = cache.records.read.bind(cache.records);
  let finished = false;
  cache.records.read = async (key) => {
    const found = await read(key);
    if (found === null && !finished) {
      // Just after this look found nothing, the holder's answer arrives: record, then release.
      finished = true;
      await other.records.update(k, () => recordOf(k, 10));
      await lease.release();
    }
    return found;
  };
  try {
    assert.equal(await takeColdFillLease(cache, k), null);
    const record = await awaitColdFillElsewhere(cache, k);
    assert.equal(record?.etag, '"e1"', "the holder's record, not a second fetch");
  } finally {
    cache.records.read = read;
  }
});

test('cells a fill commits between the first look and the lease check are planned as cached', async () => {
  const k = { namespace: 'aws', bucket: 'bkt', key: 'warm' };
  const record = recordOf(k, 2 * CS);
  const v = { ...k, etag: record.etag };
  const lease = await other.leases.announceRun(v, 0, 1);
  // The first look at a cell the plan reads ahead is a read of its file.
  const read = cache.chunks.read.bind(cache.chunks);
  let looks = 0;
  cache.chunks.read = async (version, index, length, pool) => {
    const content = await read(version, index, length, pool);
    if (++looks === 2) {
      assert.equal(content, null);
      // Both cells were just found missing: the fill commits them and ends.
      for (const i of [0, 1]) {
        await other.chunks.write(v, i, CS, [{ start: 0, bytes: Buffer.alloc(CS, i) }], 'raw');
      }
      await lease.release();
    }
    return content;
  };
  try {
    const job: BodyJob = {
      ex: {} as Exchange,
      opts: {} as BodyJob['opts'],
      cache,
      record,
      version: v,
      versionName: versionName(v),
      ram: false,
      flexible: true,
      mayAddConditionals: true,
    };
    const plan = await planRange(job, 0, 2 * CS - 1);
    assert.deepEqual(
      plan.cells.map((c) => c.state),
      ['cached', 'cached'],
      'the committed cells are read, not fetched from S3 again',
    );
  } finally {
    cache.chunks.read = read;
  }
});
