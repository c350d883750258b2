// Damaged object records never serve a wrong byte. The record of a multi-chunk object, cached through a
// running Kura from the verifying memory origin, has every one of its bits flipped in turn: each flip is
// no record to the store's reads and to `kura cache verify`, and a sample of flips (those that lower the
// object's size first among them) is read end to end over HTTP, where the answer must be the origin's
// bytes, whole, from a fill (never a 304 that would refresh the damaged record).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecordFile } from '../../src/store/record-file.js';
import { parseObjectRecord } from '../../src/store/records.js';
import type { ObjectKey } from '../../src/store/types.js';
import { recordVerdict, verifyVolume } from '../../src/store/verify.js';
import { CHANGE_MARK_FILE } from '../../src/store/volume.js';
import { sdkClient, sdkGet } from '../support/cache-client.js';
import { startTestKura, type TestKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { listFiles } from '../support/volume-files.js';

const BUCKET = 'kura-test';
const KEY = 'faults/records.bin';
/** Four cells of 64 KiB, the last one short. */
const BODY = randomBytes(3 * 64 * 1024 + 12_345);

let origin: MemoryOrigin;
let kura: TestKura;
let recordPath: string;
let objectId: string;
let key: ObjectKey;

before(async () => {
  origin = await startMemoryOrigin();
  kura = await startTestKura({
    origin: origin.url,
    // record_recheck 0: each planted file must be looked at by the very next read, as a record another
    // instance replaced is once the recheck time has passed.
    settings: {
      'cache.chunk_size': '64KiB',
      'cache.get_ttl': '1d',
      'cache.ram_size': '0B',
      'cache.record_recheck': '0s',
    },
  });
  origin.put(BUCKET, KEY, BODY);
  const first = await sdkGet(sdkClient(kura.url), BUCKET, KEY);
  assert.ok(first.body.equals(BODY));
  const files = await waitForFiles(5);
  const record = files.find((f) => f.endsWith('.json')) as string;
  recordPath = join(kura.dir, record);
  objectId = record.slice('objects/'.length, -'.json'.length);
  const decoded = decodeRecordFile(await readFile(recordPath));
  assert.equal(decoded.kind, 'record');
  if (decoded.kind === 'record') {
    const { namespace, bucket, key: k } = decoded.record;
    key = { namespace, bucket, key: k };
    assert.equal(decoded.record.size, BODY.length);
  }
});
after(async () => {
  await kura?.close();
  await origin?.close();
});

/** The record and chunk files of the volume, once the fill has written `count` of them. */
async function waitForFiles(count: number): Promise<string[]> {
  let files: string[] = [];
  for (let i = 0; i < 200; i++) {
    files = (await listFiles(kura.dir)).filter((f) => /^(objects|data)\//.test(f) && !f.endsWith('.gone'));
    if (files.length >= count) return files;
    await sleep(10);
  }
  assert.fail(`the fill wrote ${files.length} of ${count} files: ${files.join(', ')}`);
}

function flip(file: Buffer, bit: number): Buffer {
  const out = Buffer.from(file);
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** Replaces the record file as a rename would (a new inode), so no remembered parse answers for it. */
/**
 * Puts `file` in the record's place as another instance's writer does: renamed in, then the volume's
 * change mark moved (src/store/change-mark.ts), so that the next read looks at the file.
 */
async function plant(file: Buffer): Promise<void> {
  await writeFile(`${recordPath}.planted`, file);
  await rename(`${recordPath}.planted`, recordPath);
  await appendFile(join(kura.dir, CHANGE_MARK_FILE), '.');
}

test('every single-bit flip of a record is no record to reads and is reported by verify', async () => {
  const good = await readFile(recordPath);
  for (let bit = 0; bit < good.length * 8; bit++) {
    const flipped = flip(good, bit);
    assert.equal(parseObjectRecord(flipped, key), null, `bit ${bit} read as a record`);
    assert.equal(recordVerdict(flipped, objectId), null, `bit ${bit} not reported by verify`);
  }
  // The running instance's own record store, one flip per byte (each removes the file under its lock).
  const before = kura.cache.stats.corruptRecords;
  for (let byte = 0; byte < good.length; byte++) {
    await plant(flip(good, byte * 8 + (byte % 8)));
    assert.equal(await kura.cache.records.read(key), null, `byte ${byte}`);
  }
  assert.equal(kura.cache.stats.corruptRecords - before, good.length, 'each damaged file counted once');
  await plant(good);
  assert.equal((await kura.cache.records.read(key))?.size, BODY.length);
});

test('flips read over HTTP: the origin’s bytes, whole, from a fill; the record is replaced', async () => {
  const client = sdkClient(kura.url);
  const rounds = flipsToTry(await readFile(recordPath));
  assert.ok(rounds.filter((r) => r.why.startsWith('lowers')).length >= 4, 'flips that lower the size');
  for (const { why, at } of rounds) {
    // The record is rewritten by every fill: flip the bit at the same place of the current one.
    const good = await readFile(recordPath);
    const bit = at(good);
    await plant(flip(good, bit));
    const report = await verifyVolume(kura.dir);
    assert.deepEqual(report.badRecords, [recordPath], `${why}: verify names the record`);
    assert.equal(report.healthy, false);

    const from = origin.requests.length;
    const r = await sdkGet(client, BUCKET, KEY);
    assert.equal(r.status, 200, why);
    assert.equal(r.body.length, BODY.length, `${why}: length`);
    assert.ok(r.body.equals(BODY), `${why}: bytes`);
    assert.equal(r.xCache, 'MISS', why);
    const asked = origin.requests.slice(from);
    assert.deepEqual(
      asked.map((q) => [q.method, q.status, q.bodyBytesSent]),
      [['GET', 200, BODY.length]],
      `${why}: one plain GET`,
    );
    const conditional = asked[0]?.rawHeaders.some((h) => /^if-(none-match|modified-since)$/i.test(h));
    assert.equal(conditional, false, `${why}: a fill, not a revalidation`);
    // The fill wrote a good record again; the next read is a hit with the whole object.
    let record = null;
    for (let i = 0; i < 100 && record === null; i++) {
      record = await kura.cache.records.read(key);
      if (record === null) await sleep(10);
    }
    assert.equal(record?.size, BODY.length, `${why}: record replaced`);
    const hit = await sdkGet(client, BUCKET, KEY);
    assert.equal(hit.xCache, 'HIT', why);
    assert.ok(hit.body.equals(BODY), `${why}: hit bytes`);
  }
});

/** Flips worth an HTTP round each: every one that lowers `size`, and one in each other part of the file. */
function flipsToTry(file: Buffer): { why: string; at: (file: Buffer) => number }[] {
  const text = file.toString('latin1');
  const sizeAt = text.indexOf('"size":') + '"size":'.length;
  const digits = String(BODY.length).length;
  const rounds: { why: string; at: (f: Buffer) => number }[] = [];
  for (let d = 0; d < digits; d++) {
    const code = file[sizeAt + d] as number;
    for (let b = 0; b < 4; b++) {
      if ((code & (1 << b)) === 0) continue;
      rounds.push({
        why: `lowers size digit ${d} (bit ${b})`,
        at: (f) => (f.toString('latin1').indexOf('"size":') + '"size":'.length + d) * 8 + b,
      });
    }
  }
  const at =
    (needle: string, offset = 0, bit = 0) =>
    (f: Buffer) =>
      (f.toString('latin1').indexOf(needle) + offset) * 8 + bit;
  rounds.push(
    { why: 'raises size', at: (f) => (f.toString('latin1').indexOf('"size":') + 7) * 8 + 6 },
    { why: 'the checksum', at: at('"crc32":"', 9, 0) },
    { why: 'the etag', at: at('"etag":"', 9, 1) },
    { why: 'the key', at: at('"key":"', 8, 2) },
    { why: 'the first byte', at: at('{', 0, 3) },
    { why: 'the last byte', at: (f) => (f.length - 1) * 8 + 1 },
  );
  return rounds;
}
