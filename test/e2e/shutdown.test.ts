// Stopping a real `kura serve` in the middle of a large download: SIGTERM lets it finish within the
// grace period, a second SIGTERM or the end of the grace period cuts it, and in every case the volume
// holds only whole, valid chunk files and no temp files.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeChunk } from '../../src/store/chunk-file.js';
import { versionTagOf } from '../../src/store/volume.js';
import { type KuraProcess, spawnKura } from '../support/kura.js';
import { type MemoryOrigin, startMemoryOrigin } from '../support/memory-origin.js';
import { presign, s3Path } from '../support/signing.js';

const BUCKET = 'kura-test';
const GIB = 2 ** 30;
const MIB = 2 ** 20;

let origin: MemoryOrigin;
let big: Buffer;
let bigSha = '';

before(async () => {
  origin = await startMemoryOrigin();
  // 1 GiB of distinct chunks: one random MiB with each MiB's index written over its first bytes.
  const block = randomBytes(MIB);
  big = Buffer.allocUnsafe(GIB);
  for (let i = 0; i < GIB / MIB; i++) {
    block.copy(big, i * MIB);
    big.writeUInt32BE(i, i * MIB);
  }
  bigSha = createHash('sha256').update(big).digest('hex');
  origin.put(BUCKET, 'big.bin', big);
  origin.put(BUCKET, 'medium.bin', big.subarray(0, 256 * MIB));
});
after(async () => {
  await origin?.close();
});

interface Download {
  /** Settles when the response ends or breaks: the bytes' hash and count, and whether it ended whole. */
  done: Promise<{ sha256: string; bytes: number; complete: boolean }>;
  /** Resolves once `n` body bytes have arrived. */
  received(n: number): Promise<void>;
}

/** A GET through Kura read at most `bytesPerSec`, the way a slow client reads. */
async function download(kura: KuraProcess, key: string, bytesPerSec: number): Promise<Download> {
  const target = await presign(kura.url, { method: 'GET', path: s3Path(BUCKET, key) });
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    get({ host: '127.0.0.1', port: kura.port, path: target }, resolve).on('error', reject),
  );
  assert.equal(res.statusCode, 200);
  const hash = createHash('sha256');
  let bytes = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const started = performance.now();
  const done = new Promise<{ sha256: string; bytes: number; complete: boolean }>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      for (const w of waiting.filter((w) => bytes >= w.n)) w.resolve();
      const ahead = bytes / bytesPerSec - (performance.now() - started) / 1000;
      if (ahead > 0) {
        res.pause();
        setTimeout(() => res.resume(), ahead * 1000);
      }
    });
    const finish = () => resolve({ sha256: hash.digest('hex'), bytes, complete: res.complete });
    res.once('end', finish);
    res.once('error', () => {});
    res.once('close', () => {
      if (!res.readableEnded) finish();
    });
  });
  return {
    done,
    received: (n) =>
      bytes >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

/** Every file under `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

/**
 * Nothing half-written is published: every chunk file decodes whole and holds the origin's bytes, and
 * (after an orderly stop) no temp file is left. An immediate exit may leave the temp file of a write
 * that was under way at that instant, as a crash would: never published, swept by age.
 */
async function assertVolumeClean(dir: string, orderly = true): Promise<number> {
  if (orderly) assert.deepEqual(await filesUnder(join(dir, 'tmp')), [], 'no temp file left behind');
  const chunks = (await filesUnder(join(dir, 'data'))).filter((f) => /^\d+(\.p)?$/.test(basename(f)));
  for (const file of chunks) {
    const index = Number.parseInt(basename(file), 10);
    // The chunk must name the version its path names (data/…/{key hash}/{etag name}/{index}).
    const tag = versionTagOf(basename(dirname(dirname(file))), basename(dirname(file)));
    const content = await decodeChunk(await readFile(file), { index, tag }, !file.endsWith('.p'));
    for (const piece of content.pieces) {
      const at = index * MIB + piece.start;
      assert.ok(
        piece.bytes.equals(big.subarray(at, at + piece.bytes.length)),
        `${file} holds the origin's bytes`,
      );
    }
  }
  return chunks.length;
}

test('SIGTERM during a 1 GiB download lets it finish byte-exact within the grace period', async () => {
  // A grace long enough for 1 GiB on a busy CI machine (other test files run beside this one).
  const kura = await spawnKura(['--origin', origin.url], { KURA_SHUTDOWN_GRACE: '5m' });
  const dir = /"volume":"([^"]+)"/.exec(await volumeLine(kura))?.[1] as string;
  try {
    const dl = await download(kura, 'big.bin', 256 * MIB);
    await dl.received(64 * MIB);
    const signalled = performance.now();
    kura.child.kill('SIGTERM');
    const [result, [code]] = await Promise.all([
      dl.done,
      once(kura.child, 'exit') as Promise<[number | null]>,
    ]);
    const tookMs = performance.now() - signalled;
    assert.equal(
      result.complete,
      true,
      `the response ended normally (${result.bytes} bytes, ${Math.round(tookMs)} ms)`,
    );
    assert.equal(result.bytes, GIB);
    assert.equal(result.sha256, bigSha, 'byte-exact');
    assert.equal(code, 0);
    assert.ok(tookMs < 300_000, `ended within the grace period (${Math.round(tookMs)} ms)`);
    assert.match(kura.stderr(), /"msg":"stopping: no new connections/);
    assert.equal(await assertVolumeClean(dir), GIB / MIB, 'every chunk of the object was committed');
  } finally {
    await kura.stop();
  }
});

test('the end of the grace period cuts a download that is still running, and publishes no partial chunk', async () => {
  const kura = await spawnKura(['--origin', origin.url], { KURA_SHUTDOWN_GRACE: '1s' });
  const dir = /"volume":"([^"]+)"/.exec(await volumeLine(kura))?.[1] as string;
  try {
    // 256 MiB at 16 MiB/s needs 16 s: far more than the 1 s of grace.
    const dl = await download(kura, 'medium.bin', 16 * MIB);
    await dl.received(4 * MIB);
    kura.child.kill('SIGTERM');
    const [result, [code]] = await Promise.all([
      dl.done,
      once(kura.child, 'exit') as Promise<[number | null]>,
    ]);
    assert.equal(
      result.complete,
      false,
      'the client sees a cut response, never a short 200 that looks whole',
    );
    assert.ok(result.bytes < 256 * MIB);
    assert.equal(code, 0, 'a deadline reached is still an orderly stop');
    await assertVolumeClean(dir);
  } finally {
    await kura.stop();
  }
});

test('a second SIGTERM ends kura at once', async () => {
  const kura = await spawnKura(['--origin', origin.url], { KURA_SHUTDOWN_GRACE: '5m' });
  const dir = /"volume":"([^"]+)"/.exec(await volumeLine(kura))?.[1] as string;
  try {
    const dl = await download(kura, 'medium.bin', 16 * MIB);
    await dl.received(4 * MIB);
    kura.child.kill('SIGTERM');
    for (let i = 0; i < 200 && !kura.stderr().includes('stopping: no new connections'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    kura.child.kill('SIGTERM');
    const [result, [code]] = await Promise.all([
      dl.done,
      once(kura.child, 'exit') as Promise<[number | null]>,
    ]);
    assert.equal(code, 1);
    assert.match(kura.stderr(), /"msg":"stopping at once"/);
    assert.equal(result.complete, false);
    await assertVolumeClean(dir, false);
  } finally {
    await kura.stop();
  }
});

/** The start-up line that names the volume (written right after the listener lines). */
async function volumeLine(kura: KuraProcess): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const line = kura
      .stderr()
      .split('\n')
      .find((l) => l.includes('"volume":'));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no volume line in:\n${kura.stderr()}`);
}
