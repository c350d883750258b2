// Forwarding overhead: the same GETs sent to an in-memory origin directly and through `kura serve`,
// side by side in one run. Absolute figures drift on shared machines; the ratios are the result.
//
//   npm run bench:forward              ~1 minute
//   npm run bench:forward -- --quick   a few seconds, for a smoke run

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnKura } from '../test/support/kura.js';
import { fmt, type LoadResult, latency, load, rate } from './load.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 1 : 5;
const SIZES = { '4KiB': 4 * 1024, '64KiB': 64 * 1024, '1MiB': 2 ** 20 } as const;
const CONCURRENCY = quick ? [1, 16] : [1, 16, 64];

/** Serves `/bench/<size>` from memory, the least an origin can cost, so that Kura's share shows. */
async function startOrigin(): Promise<Server> {
  const bodies = new Map(Object.entries(SIZES).map(([name, n]) => [`/bench/${name}`, Buffer.alloc(n, 'k')]));
  const server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, {
      'content-length': body.length,
      etag: '"bench"',
      'content-type': 'application/octet-stream',
    });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function main(): Promise<void> {
  const origin = await startOrigin();
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  // Forwarding, not caching, is measured here: one rule turns read caching off for every key.
  const dir = await mkdtemp(join(tmpdir(), 'kura-bench-'));
  await writeFile(join(dir, 'rules.yaml'), 'rules:\n  - match: "**"\n    read: false\n');
  await writeFile(join(dir, 'kura.yaml'), `cache:\n  rules: ${join(dir, 'rules.yaml')}\n`);
  const kura = await spawnKura(['--origin', originUrl, '--config', join(dir, 'kura.yaml')]);
  const bare = spawn(process.execPath, [new URL('./bare-proxy.js', import.meta.url).pathname, originUrl]);
  const [portLine] = (await once(bare.stdout, 'data')) as [Buffer];
  const bareUrl = `http://127.0.0.1:${Number(portLine.toString())}`;
  try {
    console.log(
      `forwarding overhead, ${SECONDS} s per cell; origin in memory; each proxy in its own process`,
    );
    console.log('bare = the least a Node proxy does (bench/bare-proxy.ts): the cost of any Node.js hop\n');
    console.log(
      `${'object'.padEnd(7)} ${'conc'.padStart(4)}${'req/s: direct'.padStart(15)}${'bare'.padStart(8)}` +
        `${'kura'.padStart(8)}${'kura/direct'.padStart(13)}${'kura/bare'.padStart(11)}` +
        `${'p50/p99 ms: direct'.padStart(22)}${'bare'.padStart(14)}${'kura'.padStart(14)}`,
    );
    for (const [name] of Object.entries(SIZES)) {
      for (const c of CONCURRENCY) {
        const path = `/bench/${name}`;
        const run = (url: string, s: number): Promise<LoadResult> => load(url, [path], c, s, '127.0.0.1');
        await run(kura.url, 0.2); // warm both pools and the JIT
        await run(bareUrl, 0.2);
        const direct = await run(originUrl, SECONDS);
        const viaBare = await run(bareUrl, SECONDS);
        const through = await run(kura.url, SECONDS);
        const lat = (r: LoadResult) => latency(r);
        console.log(
          `${name.padEnd(7)} ${String(c).padStart(4)}${fmt(rate(direct), 0, 15)}${fmt(rate(viaBare), 0, 8)}` +
            `${fmt(rate(through), 0, 8)}${fmt(rate(through) / rate(direct), 2, 13)}` +
            `${fmt(rate(through) / rate(viaBare), 2, 11)}        ${lat(direct)}${lat(viaBare)}${lat(through)}`,
        );
      }
    }
  } finally {
    await kura.stop();
    bare.kill('SIGTERM');
    origin.closeAllConnections();
    origin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
