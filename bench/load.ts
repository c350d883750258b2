// The load generator the benchmarks share: closed loops of undici clients, one connection each, that send
// their next GET as soon as the last one ends, cycling through a list of request targets.

import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  bytes: number;
  seconds: number;
  /** Latency quantiles, ms. */
  p50: number;
  p99: number;
}

export async function load(
  base: string,
  targets: readonly string[],
  concurrency: number,
  seconds: number,
  host = new URL(base).host,
): Promise<LoadResult> {
  const pool = new Pool(base, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let bytes = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const path = targets[next++ % targets.length] as string;
      const t = performance.now();
      const res = await pool.request({ path, method: 'GET', headers: { host } });
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      if (res.statusCode !== 200) throw new Error(`${base}${path}: ${res.statusCode}`);
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

export const rate = (r: LoadResult) => r.requests / r.seconds;

/** A number right-aligned in `width` columns. */
export const fmt = (n: number, digits = 0, width = 10) => n.toFixed(digits).padStart(width);

/** `p50/p99` in ms, right-aligned. */
export const latency = (r: LoadResult, width = 14) =>
  `${r.p50.toFixed(2)}/${r.p99.toFixed(2)}`.padStart(width);
