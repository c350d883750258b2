// The operations every real client in test/clients/ goes through, once through Kura and once direct
// against RGW (test/support/client-matrix.ts). A client file describes how its client does each
// operation (a driver) and this file turns that into the same tests for every client: the same outcome
// (exit code, error code) both ways, bytes equal to what was uploaded and to what direct gave, and reads
// through Kura of what it already holds are hits that cost RGW no body byte. An operation the client does
// not have is left out of its driver, and docs/testing.md's matrix says so.

import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertHit,
  assertOk,
  assertSameOutcome,
  type ClientMatrix,
  MiB,
  measure,
  type Outcome,
  operationsFor,
  type Side,
  type SideName,
  startClientMatrix,
} from './client-matrix.js';

export interface Listing extends Outcome {
  /** Keys (full, prefix included) and sizes of the objects listed. */
  entries: Array<{ key: string; size: number }>;
}

export interface ClientDriver {
  /** Lower-case, for the bucket's name (`clients-NAME`). */
  name: string;
  setup?(m: ClientMatrix): Promise<void>;
  teardown?(m: ClientMatrix): Promise<void>;
  upload(m: ClientMatrix, side: Side, file: string, key: string): Promise<Outcome>;
  /** Objects under `prefix`, recursively. */
  list(m: ClientMatrix, side: Side, prefix: string): Promise<Listing>;
  download(m: ClientMatrix, side: Side, key: string, file: string): Promise<Outcome>;
  /** Bytes first..last (inclusive) into `file`. */
  downloadRange?(
    m: ClientMatrix,
    side: Side,
    key: string,
    first: number,
    last: number,
    file: string,
  ): Promise<Outcome>;
  /** Makes `prefix` hold what `dir` holds. */
  sync?(m: ClientMatrix, side: Side, dir: string, prefix: string): Promise<Outcome>;
  /** Makes `dir` hold what `prefix` holds. */
  syncDown?(m: ClientMatrix, side: Side, prefix: string, dir: string): Promise<Outcome>;
  copy?(m: ClientMatrix, side: Side, from: string, to: string): Promise<Outcome>;
  remove?(m: ClientMatrix, side: Side, key: string): Promise<Outcome>;
  /** A presigned GET URL for the key. */
  presign?(m: ClientMatrix, side: Side, key: string): Promise<Outcome & { url?: string }>;
}

const SIDES: SideName[] = ['kura', 'direct'];

/** Registers the matrix's tests for one client. */
export function clientMatrixTests(driver: ClientDriver): void {
  let m: ClientMatrix;

  before(async () => {
    m = await startClientMatrix(driver.name);
    await driver.setup?.(m);
  });
  after(async () => {
    try {
      await driver.teardown?.(m);
    } finally {
      await m?.close();
    }
  });

  const key = (side: Side, name: string) => `${side.prefix}${name}`;
  const out = (side: Side, name: string) => join(m.work, 'out', side.name, name);

  /**
   * Runs a step on both sides at once (they share nothing: other keys, other endpoints, and the direct
   * side's requests are not Kura's); asserts the same outcome and returns both.
   */
  async function both<T extends Outcome>(
    what: string,
    step: (side: Side) => Promise<T>,
  ): Promise<Record<SideName, T>> {
    const [kura, direct] = await Promise.all([step(m.sides.kura), step(m.sides.direct)]);
    assertSameOutcome(what, kura, direct);
    return { kura, direct };
  }

  /** Downloads `name` on a side into a fresh file and returns its bytes (null when the client failed). */
  async function fetchBytes(
    side: Side,
    name: string,
    as: string,
  ): Promise<Outcome & { bytes: Buffer | null }> {
    const file = out(side, as);
    await mkdir(dirname(file), { recursive: true });
    await rm(file, { force: true });
    const outcome = await driver.download(m, side, key(side, name), file);
    if (outcome.code !== 0) return { ...outcome, bytes: null };
    // rclone's copyto of a key that is not there copies nothing and exits 0.
    const bytes = await readFile(file).catch(() => null);
    return bytes === null
      ? { code: 'no file written', detail: outcome.detail, bytes }
      : { ...outcome, bytes };
  }

  test(`${driver.name}: upload a small object in one request and a large one in parts`, async () => {
    // Both uploads at once on each side: they are independent, and some clients take a while to start.
    const [[small, big], cost] = await measure(m, key(m.sides.kura, 'big.bin'), () =>
      Promise.all([
        both('upload small', (s) => driver.upload(m, s, m.files.small, key(s, 'small.bin'))),
        both('upload big', (s) => driver.upload(m, s, m.files.big, key(s, 'big.bin'))),
      ]),
    );
    assertOk('upload small', small.kura);
    assertOk('upload big', big.kura);
    for (const side of SIDES.map((n) => m.sides[n])) {
      assert.ok((await m.stored(key(side, 'small.bin')))?.equals(m.data.small), `${side.name}: small stored`);
      assert.ok((await m.stored(key(side, 'big.bin')))?.equals(m.data.big), `${side.name}: big stored`);
    }
    const bigOps = operationsFor(cost, key(m.sides.kura, 'big.bin'));
    assert.ok(
      bigOps.includes('UploadPart'),
      `the large upload through Kura was not multipart: ${bigOps.join(', ')}`,
    );
    const smallOps = operationsFor(cost, key(m.sides.kura, 'small.bin'));
    assert.ok(
      smallOps.includes('PutObject') && !smallOps.includes('UploadPart'),
      `the small upload through Kura was not one PutObject: ${smallOps.join(', ')}`,
    );
  });

  test(`${driver.name}: list`, async () => {
    const listed = await both('list', (s) => driver.list(m, s, s.prefix));
    assertOk('list', listed.kura);
    for (const name of SIDES) {
      const side = m.sides[name];
      const entries = listed[name].entries
        .map((e) => `${e.key.slice(side.prefix.length)} ${e.size}`)
        .filter((e) => !e.startsWith(' ') && !e.split(' ')[0]?.endsWith('/'))
        .sort();
      assert.deepEqual(entries, [`big.bin ${m.data.big.length}`, `small.bin ${m.data.small.length}`], name);
    }
  });

  test(`${driver.name}: download whole: the same bytes both ways; the next read through Kura is a HIT`, async () => {
    const first = await both('download', (s) => fetchBytes(s, 'big.bin', 'big-1'));
    assert.ok(first.kura.bytes?.equals(m.data.big), 'through Kura: the bytes uploaded');
    assert.ok(first.direct.bytes?.equals(m.data.big), 'direct: the bytes uploaded');
    // The second read of the large object, and the first of the small one, uploaded through Kura in one
    // PUT; at once (each is measured by its key).
    const [[again, cost], [small, smallCost]] = await Promise.all([
      measure(m, key(m.sides.kura, 'big.bin'), () => fetchBytes(m.sides.kura, 'big.bin', 'big-2')),
      measure(m, key(m.sides.kura, 'small.bin'), () => fetchBytes(m.sides.kura, 'small.bin', 'small-1')),
    ]);
    assert.ok(again.bytes?.equals(m.data.big), 'the second read through Kura: the bytes uploaded');
    assertHit('second download', key(m.sides.kura, 'big.bin'), cost);
    assert.ok(small.bytes?.equals(m.data.small), 'the small object through Kura');
    // That first read completes the record S3's answer to the PUT left without Last-Modified (a 304 or
    // a HEAD forwarded, docs/caching.md), so it may not be a HIT, but it costs RGW no body byte.
    assert.equal(
      smallCost.objectBodyBytes,
      0,
      `the read after a PUT through Kura cost ${smallCost.objectBodyBytes} body bytes`,
    );
  });

  if (driver.downloadRange) {
    const ranged = driver.downloadRange.bind(driver);
    test(`${driver.name}: ranged download: the same bytes both ways, a HIT through Kura`, async () => {
      // Across the 1 MiB chunk boundary.
      const cases: Array<[number, number]> = [[MiB - 1000, MiB + 70_000]];
      for (const [i, [first, last]] of cases.entries()) {
        const expected = m.data.big.subarray(first, last + 1);
        const read = async (s: Side) => {
          const file = out(s, `range-${i}`);
          await mkdir(dirname(file), { recursive: true });
          const outcome = await ranged(m, s, key(s, 'big.bin'), first, last, file);
          return { ...outcome, bytes: outcome.code === 0 ? await readFile(file) : null };
        };
        const [r, cost] = await measure(m, key(m.sides.kura, 'big.bin'), () =>
          both(`range ${first}-${last}`, read),
        );
        assert.ok(r.direct.bytes?.equals(expected), `direct: bytes ${first}-${last}`);
        assert.ok(r.kura.bytes?.equals(expected), `through Kura: bytes ${first}-${last}`);
        assertHit(`range ${first}-${last}`, key(m.sides.kura, 'big.bin'), cost);
      }
    });
  }

  if (driver.sync) {
    const sync = driver.sync.bind(driver);
    test(`${driver.name}: sync a directory up and down, change a file, sync again: the new bytes read back through Kura`, async () => {
      const first = await both('sync', (s) => sync(m, s, m.files.tree, key(s, 'tree/')));
      assertOk('sync', first.kura);
      for (const name of SIDES) {
        const side = m.sides[name];
        const stored = (await m.storedList(key(side, 'tree/')))
          .filter((e) => !e.key.endsWith('/'))
          .map((e) => `${e.key.slice(key(side, 'tree/').length)} ${e.size}`)
          .sort();
        assert.deepEqual(
          stored,
          [...m.data.tree].map(([p, b]) => `${p} ${b.length}`).sort(),
          `${name}: synced`,
        );
      }
      // Read it all back (through Kura, now cached), change a file locally with a new size, sync, read again.
      if (driver.syncDown) {
        const syncDown = driver.syncDown.bind(driver);
        const down = await both('sync down', (s) => syncDown(m, s, key(s, 'tree/'), out(s, 'tree')));
        assertOk('sync down', down.kura);
        for (const name of SIDES) {
          for (const [path, bytes] of m.data.tree) {
            const got = await readFile(join(out(m.sides[name], 'tree'), path)).catch(() => null);
            assert.ok(got?.equals(bytes), `${name}: ${path} synced down`);
          }
        }
      } else {
        const before = await fetchBytes(m.sides.kura, 'tree/a.bin', 'a-1');
        assert.ok(before.bytes?.equals(m.data.tree.get('a.bin') ?? Buffer.alloc(0)), 'a.bin through Kura');
      }
      const changed = Buffer.concat([Buffer.from('changed '), m.data.tree.get('a.bin') ?? Buffer.alloc(0)]);
      await writeFile(join(m.files.tree, 'a.bin'), changed);
      const second = await both('sync again', (s) => sync(m, s, m.files.tree, key(s, 'tree/')));
      assertOk('sync again', second.kura);
      const after = await both('read the changed file', (s) => fetchBytes(s, 'tree/a.bin', 'a-2'));
      assert.ok(after.direct.bytes?.equals(changed), 'direct: the changed bytes');
      assert.ok(after.kura.bytes?.equals(changed), 'through Kura: the changed bytes, not the cached ones');
    });
  }

  if (driver.copy) {
    const copy = driver.copy.bind(driver);
    // Onto small.bin, which Kura holds since it was uploaded and read through it.
    test(`${driver.name}: copy onto a key Kura holds: the copy's bytes read back`, async () => {
      const copied = await both('copy', (s) => copy(m, s, key(s, 'big.bin'), key(s, 'small.bin')));
      assertOk('copy', copied.kura);
      const read = await both('read the copy', (s) => fetchBytes(s, 'small.bin', 'copy-2'));
      assert.ok(read.direct.bytes?.equals(m.data.big), 'direct: the copied bytes');
      assert.ok(read.kura.bytes?.equals(m.data.big), 'through Kura: the copied bytes, not the cached ones');
    });
  }

  if (driver.presign) {
    const presign = driver.presign.bind(driver);
    test(`${driver.name}: presigned GET: the same bytes both ways, the next one through Kura a HIT`, async () => {
      const urls = await both('presign', (s) => presign(m, s, key(s, 'big.bin')));
      const get = async (url: string | undefined) => {
        assert.ok(url, 'no URL');
        const res = await fetch(url);
        return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
      };
      const direct = await get(urls.direct.url);
      assert.equal(direct.status, 200, direct.bytes.toString().slice(0, 300));
      assert.ok(direct.bytes.equals(m.data.big), 'direct: the bytes uploaded');
      assert.ok(urls.kura.url?.startsWith(`${m.kura.url}/`), `the URL names Kura: ${urls.kura.url}`);
      const [viaKura, cost] = await measure(m, key(m.sides.kura, 'big.bin'), async () => {
        const first = await get(urls.kura.url);
        const second = await get(urls.kura.url);
        return [first, second];
      });
      for (const r of viaKura) {
        assert.equal(r.status, 200, r.bytes.toString().slice(0, 300));
        assert.ok(r.bytes.equals(m.data.big), 'through Kura: the bytes uploaded');
      }
      assertHit('presigned GET', key(m.sides.kura, 'big.bin'), cost);
    });
  }

  if (driver.remove) {
    const remove = driver.remove.bind(driver);
    test(`${driver.name}: delete an object Kura holds: gone both ways, not served from the cache`, async () => {
      const removed = await both('delete', (s) => remove(m, s, key(s, 'small.bin')));
      assertOk('delete', removed.kura);
      for (const name of SIDES) assert.equal(await m.stored(key(m.sides[name], 'small.bin')), null, name);
      const [gone, cost] = await measure(m, key(m.sides.kura, 'small.bin'), () =>
        both('read the deleted object', (s) => fetchBytes(s, 'small.bin', 'small-gone')),
      );
      assert.notEqual(gone.kura.code, 0, 'the deleted object was still read through Kura');
      const answers = cost.access
        .filter((r) => r.key === key(m.sides.kura, 'small.bin'))
        .map((r) => r.status);
      // (A file system client may know of the deletion itself and not ask.)
      assert.ok(
        answers.every((s) => s === 404),
        `Kura answered ${answers.join(', ')}`,
      );
    });
  }
}
