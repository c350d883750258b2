// Upload throughput: a 1 GiB PUT straight to the verifying in-memory origin, through `kura serve` with
// write-through caching, and through Kura forwarding only (the object above cache.write_max_object_size),
// in one run; with Kura's peak RSS. Absolute figures drift on shared machines; read the ratios.
//
//   npm run bench:upload              1 GiB, 3 rounds
//   npm run bench:upload -- --quick   128 MiB, 1 round

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnKura } from '../test/support/kura.js';
import { startMemoryOrigin } from '../test/support/memory-origin.js';
import { s3Path, signRequest } from '../test/support/signing.js';

const quick = process.argv.includes('--quick');
const SIZE = quick ? 128 * 2 ** 20 : 2 ** 30;
const ROUNDS = quick ? 1 : 3;
const BUCKET = 'kura-test';
/** Random bytes repeated: LZ4 finds nothing to shrink within a chunk, as with real compressed data. */
const BLOCK = randomBytes(64 * 2 ** 20);

/** One signed streaming PUT of SIZE bytes; resolves with seconds taken once S3's answer is in. */
async function put(base: string, key: string): Promise<number> {
  const signed = await signRequest(base, {
    method: 'PUT',
    path: s3Path(BUCKET, key),
    headers: { 'content-length': String(SIZE), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const url = new URL(base);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < signed.headers.length; i += 2)
      headers[signed.headers[i] as string] = signed.headers[i + 1] as string;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: signed.rawUrl,
      headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`${base}: ${res.statusCode}`)),
      );
    });
    let sent = 0;
    const pump = () => {
      while (sent < SIZE) {
        const slice = BLOCK.subarray(0, Math.min(BLOCK.length, SIZE - sent));
        sent += slice.length;
        if (!req.write(slice)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  return (performance.now() - started) / 1000;
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function main(): Promise<void> {
  const origin = await startMemoryOrigin();
  const cached = await spawnKura(['--origin', origin.url]);
  const dir = await mkdtemp(join(tmpdir(), 'kura-bench-upload-'));
  await writeFile(join(dir, 'forward.yaml'), 'cache:\n  write_max_object_size: 1MiB\n');
  const forwarded = await spawnKura(['--origin', origin.url, '--config', join(dir, 'forward.yaml')]);
  try {
    console.log(`PUT of ${SIZE / 2 ** 20} MiB, UNSIGNED-PAYLOAD, one connection; best of ${ROUNDS}`);
    console.log('origin in memory (this process); each kura in its own process\n');
    const best = {
      direct: Number.POSITIVE_INFINITY,
      cached: Number.POSITIVE_INFINITY,
      forwarded: Number.POSITIVE_INFINITY,
    };
    for (let round = 0; round < ROUNDS; round++) {
      best.direct = Math.min(best.direct, await put(origin.url, `bench/direct-${round}`));
      origin.delete(BUCKET, `bench/direct-${round}`);
      best.cached = Math.min(best.cached, await put(cached.url, `bench/cached-${round}`));
      origin.delete(BUCKET, `bench/cached-${round}`);
      best.forwarded = Math.min(best.forwarded, await put(forwarded.url, `bench/forwarded-${round}`));
      origin.delete(BUCKET, `bench/forwarded-${round}`);
    }
    const mibps = (s: number) => SIZE / 2 ** 20 / s;
    const row = (name: string, s: number) =>
      console.log(
        `${name.padEnd(34)}${mibps(s).toFixed(0).padStart(8)} MiB/s${(mibps(s) / mibps(best.direct)).toFixed(2).padStart(8)}× direct`,
      );
    row('direct to the origin', best.direct);
    row('through kura, cached (write-through)', best.cached);
    row('through kura, forwarded only', best.forwarded);
    const rss = await peakRss(cached.child.pid as number);
    console.log(`\npeak RSS of the caching kura: ${(rss / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await cached.stop();
    await forwarded.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
