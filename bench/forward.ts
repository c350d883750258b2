// Forwarding overhead: the same GETs sent to an in-memory origin directly and through `kura serve`,
// side by side in one run. Absolute figures drift on shared machines; the ratios are the result.
//
//   npm run bench              ~1 minute
//   npm run bench -- --quick   a few seconds, for a smoke run

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { spawnKura } from '../test/support/kura.js';

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

interface Result {
  requests: number;
  bytes: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** A closed loop of `concurrency` clients for `seconds`, each sending its next GET as the last ends. */
async function load(url: string, path: string, concurrency: number, seconds: number): Promise<Result> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const res = await pool.request({ path, method: 'GET', headers: { host: '127.0.0.1' } });
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      if (res.statusCode !== 200) throw new Error(`${url}${path}: ${res.statusCode}`);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: latencies.length, bytes, seconds: elapsed, p50: at(0.5), p99: at(0.99) };
}

const fmt = (n: number, digits = 0, width = 9) => n.toFixed(digits).padStart(width);

async function main(): Promise<void> {
  const origin = await startOrigin();
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  const kura = await spawnKura(['--origin', originUrl]);
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
        await load(kura.url, path, c, 0.2); // warm both pools and the JIT
        await load(bareUrl, path, c, 0.2);
        const direct = await load(originUrl, path, c, SECONDS);
        const viaBare = await load(bareUrl, path, c, SECONDS);
        const through = await load(kura.url, path, c, SECONDS);
        const rate = (r: Result) => r.requests / r.seconds;
        const lat = (r: Result) => `${r.p50.toFixed(2)}/${r.p99.toFixed(2)}`.padStart(14);
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
  }
}

await main();
