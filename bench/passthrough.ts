// The :443 passthrough: TLS relayed by SNI, measured beside the same HTTPS origin reached directly, in
// one run. Bulk throughput (one 256 MiB body per request on a kept-alive TLS session) and the rate of new
// TLS connections (each relayed connection costs a ClientHello read, a route, a DNS answer and a dial).
//
//   npm run bench:passthrough              ~30 s
//   npm run bench:passthrough -- --quick

import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnKura } from '../test/support/kura.js';
import { makeTestCert } from '../test/support/tls-cert.js';
import { fmt } from './load.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 1 : 5;
const NAME = 's3.kura.test';
const BIG = Buffer.alloc(256 * 2 ** 20, 'k');
const SMALL = Buffer.alloc(4096, 'k');

function get(port: number, path: string, agent: https.Agent, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, servername: NAME, ca, agent }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
      });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** `concurrency` closed loops for `seconds`; bytes and requests per second. */
async function run(port: number, path: string, concurrency: number, keepAlive: boolean, ca: Buffer) {
  const agent = new https.Agent({ keepAlive, maxSockets: concurrency });
  const deadline = performance.now() + SECONDS * 1000;
  let requests = 0;
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        bytes += await get(port, path, agent, ca);
        requests += 1;
      }
    }),
  );
  agent.destroy();
  const s = (performance.now() - started) / 1000;
  return { rps: requests / s, mibps: bytes / s / 2 ** 20 };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kura-bench-tls-'));
  const cert = makeTestCert(dir, 'origin', [NAME]);
  const origin = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const body = req.url === '/big' ? BIG : SMALL;
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = (origin.address() as AddressInfo).port;
  const httpsPort = await freePort();
  const kura = await spawnKura([
    '--https-port',
    String(httpsPort),
    '--origin',
    `https://127.0.0.1:${originPort}`,
  ]);
  try {
    console.log(`:443 passthrough, ${SECONDS} s per cell; HTTPS origin in this process, kura in its own\n`);
    console.log(
      `${'workload'.padEnd(30)}${'direct'.padStart(10)}${'kura'.padStart(10)}${'kura/direct'.padStart(13)}`,
    );
    const cells: [string, string, number, boolean, 'mibps' | 'rps'][] = [
      ['256 MiB body, MiB/s, 1 conn', '/big', 1, true, 'mibps'],
      ['4 KiB, new TLS conn, req/s, c8', '/small', 8, false, 'rps'],
    ];
    for (const [label, path, c, keepAlive, unit] of cells) {
      const direct = await run(originPort, path, c, keepAlive, cert.cert);
      const through = await run(httpsPort, path, c, keepAlive, cert.cert);
      console.log(
        `${label.padEnd(30)}${fmt(direct[unit])}${fmt(through[unit])}${fmt(through[unit] / direct[unit], 2, 13)}`,
      );
    }
  } finally {
    await kura.stop();
    origin.closeAllConnections();
    origin.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
