// Read-cache throughput: warm hits through `kura serve` beside the same GETs sent straight to the
// verifying in-memory origin, in one run. Absolute figures drift on shared machines; read the ratios.
//
//   npm run bench:cache              ~1 minute
//   npm run bench:cache -- --quick   a smoke run
//
// Requests are presigned URLs (each one verified by the origin when it is asked), cycled by closed loops
// of undici clients, as many connections as clients.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnKura } from '../test/support/kura.js';
import { startMemoryOrigin } from '../test/support/memory-origin.js';
import { presign, s3Path } from '../test/support/signing.js';
import { fmt, type LoadResult, latency, load, rate } from './load.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 1 : 5;
const BUCKET = 'kura-test';
const SMALL = 64 * 1024;
const SMALL_OBJECTS = 200;
const BIG = 256 * 2 ** 20;

/** Each target once, `concurrency` at a time: the first pass, which fills the cache. */
async function readOnce(base: string, targets: string[], concurrency: number): Promise<void> {
  const host = new URL(base).host;
  const pool = new Pool(base, { connections: concurrency });
  let next = 0;
  const client = async () => {
    for (let i = next++; i < targets.length; i = next++) {
      const res = await pool.request({ path: targets[i] as string, method: 'GET', headers: { host } });
      await res.body.dump({ limit: Number.POSITIVE_INFINITY });
      if (res.statusCode !== 200) throw new Error(`${base}: ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  await pool.close();
}

const presignAll = (base: string, keys: string[]) =>
  Promise.all(
    keys.map((key) => presign(base, { method: 'GET', path: s3Path(BUCKET, key) }, { expiresIn: 3600 })),
  );

const lat = (r: LoadResult) => latency(r, 16);

async function main(): Promise<void> {
  const origin = await startMemoryOrigin();
  const small = Array.from({ length: SMALL_OBJECTS }, (_, i) => `bench/small-${i}.bin`);
  for (const key of small) origin.put(BUCKET, key, randomBytes(SMALL));
  origin.put(BUCKET, 'bench/big.bin', randomBytes(BIG));
  const dir = await mkdtemp(join(tmpdir(), 'kura-bench-'));
  const kura = await spawnKura(['--origin', origin.url, '--cache-dir', dir]);
  try {
    console.log(
      `read cache, ${SECONDS} s per cell; origin in memory (this process); kura in its own process`,
    );
    console.log('direct = straight to the origin; kura = warm hits through Kura (the origin is not asked)\n');
    const smallDirect = await presignAll(origin.url, small);
    const smallKura = await presignAll(kura.url, small);
    const bigDirect = await presignAll(origin.url, ['bench/big.bin']);
    const bigKura = await presignAll(kura.url, ['bench/big.bin']);

    const fillStart = performance.now();
    await readOnce(kura.url, bigKura, 1);
    await readOnce(kura.url, smallKura, 8);
    const fillSeconds = (performance.now() - fillStart) / 1000;
    await load(kura.url, smallKura, 4, 1); // warm the JIT and the RAM tier
    await load(kura.url, bigKura, 1, 1);

    console.log(
      `${'workload'.padEnd(16)}${'conc'.padStart(5)}${'direct'.padStart(11)}${'kura'.padStart(10)}` +
        `${'kura/direct'.padStart(13)}${'p50/p99 ms: direct'.padStart(22)}${'kura'.padStart(16)}`,
    );
    let asked = 0;
    const viaKura = async (targets: string[], c: number) => {
      const before = origin.requests.length;
      const r = await load(kura.url, targets, c, SECONDS);
      asked += origin.requests.length - before;
      return r;
    };
    for (const c of quick ? [1, 16] : [1, 16, 64]) {
      const direct = await load(origin.url, smallDirect, c, SECONDS);
      const through = await viaKura(smallKura, c);
      console.log(
        `${'64KiB req/s'.padEnd(16)}${String(c).padStart(5)}${fmt(rate(direct))}${fmt(rate(through))}` +
          `${fmt(rate(through) / rate(direct), 2, 13)}      ${lat(direct)}${lat(through)}`,
      );
    }
    for (const c of quick ? [1] : [1, 4]) {
      const direct = await load(origin.url, bigDirect, c, SECONDS);
      const through = await viaKura(bigKura, c);
      const mbps = (r: LoadResult) => r.bytes / r.seconds / 2 ** 20;
      console.log(
        `${'256MiB MiB/s'.padEnd(16)}${String(c).padStart(5)}${fmt(mbps(direct))}${fmt(mbps(through))}` +
          `${fmt(mbps(through) / mbps(direct), 2, 13)}      ${lat(direct)}${lat(through)}`,
      );
    }
    console.log(
      `\norigin requests during the measured kura runs: ${asked} (0 means every kura answer was a hit)`,
    );
    console.log(`first pass (fills) of 256 MiB and ${SMALL_OBJECTS}×64 KiB took ${fillSeconds.toFixed(1)} s`);
  } finally {
    await kura.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
