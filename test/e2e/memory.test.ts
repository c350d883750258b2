// Bodies stream through Kura with back-pressure both ways (docs/architecture.md, rule 5): a 1 GiB upload and
// a 1 GiB download, each with a side that stops reading for a while, leave Kura's peak RSS nearly flat.
// Kura runs as the real `kura serve` process so that its memory is measured apart from the test's.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEMI_SPACE_MIB } from '../../src/cli/young-generation.js';
import { type KuraProcess, spawnKura } from '../support/kura.js';

const SIZE = 2 ** 30;
/** A warm-up transfer each way, so that V8's heap has grown to its streaming size before measuring. */
const WARM = 256 * 2 ** 20;
const CHUNK = Buffer.alloc(256 * 1024, 'kura');
/** Random bytes repeated farther apart than LZ4 looks back: chunk files of them are stored raw. */
const NOISE = randomBytes(256 * 1024);
const LIMIT = 100 * 2 ** 20;
/** The RAM tier of the warm read's Kura, and what that read may add to its RSS once the tier is full. */
const TIER = 256 * 2 ** 20;
const WARM_LIMIT = 48 * 2 ** 20;

/** Peak resident set size of a process, from /proc (Linux's high-water mark). */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

/** Starts a new high-water mark at the current resident set size (Linux: `5` to clear_refs). */
function resetPeakRss(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return peakRss(pid);
}

/**
 * Bytes `from..size` of `unit` repeated, pausing once for a second halfway through the object to let
 * buffers fill if they would.
 */
function pattern(size: number, from = 0, unit = CHUNK): Readable {
  let sent = from;
  return new Readable({
    async read() {
      if (sent === size / 2) await sleep(1_000);
      const at = sent % unit.length;
      const n = Math.min(unit.length - at, size - sent);
      sent += n;
      this.push(n === 0 ? null : unit.subarray(at, at + n));
    },
  });
}

function digestOf(size: number, unit = CHUNK): string {
  const h = createHash('sha256');
  for (let sent = 0; sent < size; sent += unit.length)
    h.update(unit.subarray(0, Math.min(unit.length, size - sent)));
  return h.digest('hex');
}

let origin: Server;
let originUrl: string;
let kura: KuraProcess;
let uploaded: { bytes: number; sha256: string } | null = null;

before(async () => {
  // A streaming origin: it discards uploads (hashing them) and generates downloads, so that the test
  // measures Kura and not an origin's disk. It stops reading for a second mid-upload.
  origin = createServer((req, res) => {
    if (req.method === 'PUT') {
      readSlowly(req, true).then((got) => {
        uploaded = got;
        res.writeHead(200, { etag: '"put"' }).end();
      });
      return;
    }
    if (req.url === '/bucket/small') return res.writeHead(200, { etag: '"small"' }).end('small');
    const size = req.url === '/bucket/warm' ? WARM : SIZE;
    const unit = req.url === '/bucket/noise' ? NOISE : CHUNK;
    // One byte range, as S3 answers it: a chunk a fill left behind is fetched so when read warm.
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      const to = Math.min(Number(range[2]), size - 1);
      res.writeHead(206, {
        'content-length': to - from + 1,
        'content-range': `bytes ${from}-${to}/${size}`,
        etag: '"get"',
      });
      pattern(to + 1, from, unit).pipe(res);
      return;
    }
    res.writeHead(200, { 'content-length': size, etag: '"get"' });
    pattern(size, 0, unit).pipe(res);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const port = (origin.address() as { port: number }).port;
  // The RAM tier is memory the operator gives the cache on purpose; keep it small here so that what is
  // measured is what the request paths hold.
  originUrl = `http://127.0.0.1:${port}`;
  kura = await spawnKura(['--origin', originUrl], {
    KURA_RAM_SIZE: '16MiB',
  });
});
after(async () => {
  await kura?.stop();
  origin.closeAllConnections();
  origin.close();
});

test('a 1 GiB upload and a 1 GiB download through Kura each grow its peak RSS by less than 100 MB', async () => {
  const pid = kura.child.pid as number;
  // Warm up the code paths and the heap, so that the baseline includes what any process that has streamed
  // allocates for good (V8 grows its young generation to its cap during the first large transfer). What
  // is measured is then what one more transfer holds, which back-pressure bounds.
  await exchange('GET', null, 0, false, '/bucket/small');
  await exchange('PUT', pattern(WARM), WARM, false, '/bucket/warm');
  await exchange('GET', null, 0, false, '/bucket/warm');
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

  // Each direction from its own baseline: both keep a side copy for the cache (bounded by the write
  // budget), and garbage one leaves for the collector is not the other's to carry.
  const beforeUpload = resetPeakRss(pid);
  await exchange('PUT', pattern(SIZE), SIZE);
  assert.deepEqual(uploaded, { bytes: SIZE, sha256: digestOf(SIZE) }, 'the origin got every byte, in order');
  const upload = `upload: from ${mb(beforeUpload)} to a peak of ${mb(peakRss(pid))}`;
  console.log(upload);
  assert.ok(peakRss(pid) - beforeUpload < LIMIT, upload);

  const beforeDownload = resetPeakRss(pid);
  const got = await exchange('GET', null, 0, true);
  assert.deepEqual(got, { bytes: SIZE, sha256: digestOf(SIZE) }, 'the client got every byte, in order');
  const download = `download: from ${mb(beforeDownload)} to a peak of ${mb(peakRss(pid))}`;
  console.log(download);
  assert.ok(peakRss(pid) - beforeDownload < LIMIT, download);
});

test('reading 1 GiB again, from the volume through a full RAM tier, adds less than 48 MB to the peak RSS', async () => {
  // Chunk files stored raw, read into pooled buffers that the tier gives back when it lets a chunk go:
  // the reads after it take them again. Fresh buffers per chunk instead (left for the collector) grew a
  // process with a 512 MiB tier by about 200 MiB.
  const tiered = await spawnKura(['--origin', originUrl], { KURA_RAM_SIZE: String(TIER) });
  try {
    const pid = tiered.child.pid as number;
    const cold = await exchange('GET', null, 0, false, '/bucket/noise', tiered);
    assert.deepEqual(cold, { bytes: SIZE, sha256: digestOf(SIZE, NOISE) });
    // A fill keeps nothing in RAM: the first read from the volume fills the tier (docs/caching.md).
    const first = await exchange('GET', null, 0, false, '/bucket/noise', tiered);
    assert.deepEqual(first, { bytes: SIZE, sha256: digestOf(SIZE, NOISE) });
    const before = resetPeakRss(pid);
    const warm = await exchange('GET', null, 0, false, '/bucket/noise', tiered);
    assert.deepEqual(warm, { bytes: SIZE, sha256: digestOf(SIZE, NOISE) }, 'every byte, in order');
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    const grew = `warm read: from ${mb(before)} to a peak of ${mb(peakRss(pid))}`;
    console.log(grew);
    assert.ok(peakRss(pid) - before < WARM_LIMIT, grew);
  } finally {
    await tiered.stop();
  }
});

test('kura serve runs with the young generation it sizes (src/cli/young-generation.ts), in the same process', () => {
  const args = readFileSync(`/proc/${kura.child.pid}/cmdline`, 'utf8').split('\0');
  assert.ok(args.includes(`--max-semi-space-size=${SEMI_SPACE_MIB}`), args.join(' '));
  assert.ok(args.includes('serve'), args.join(' '));
});

/** One request through Kura; a slow reader stops for a second halfway when `slowReader` is set. */
function exchange(
  method: string,
  body: Readable | null,
  length: number,
  slowReader = false,
  path = '/bucket/big',
  to: KuraProcess = kura,
) {
  return new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: to.port,
        method,
        path,
        headers: { host: '127.0.0.1', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': length },
      },
      (res) => {
        readSlowly(res, slowReader).then(
          (got) => (res.statusCode === 200 ? resolve(got) : reject(new Error(`${res.statusCode}`))),
          reject,
        );
      },
    );
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

/** Reads a stream to its end, hashing it; when `pause` is set, stops reading for a second halfway. */
function readSlowly(stream: Readable, pause: boolean): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    let paused = !pause;
    stream.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
      if (!paused && bytes >= SIZE / 2) {
        paused = true;
        stream.pause();
        setTimeout(() => stream.resume(), 1_000);
      }
    });
    stream.on('end', () => resolve({ bytes, sha256: h.digest('hex') }));
    stream.on('error', reject);
  });
}
