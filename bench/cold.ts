// Workload "cold": the first read of objects through a cache, beside the same reads direct.
//  - aggregate: N curl clients at once, each reading its own cold object, from an S3-like origin (90 MB/s
//    per connection): what a fleet's first read of a dataset costs through Kura and through nginx;
//  - time to first byte: many small cold objects at loopback speed, read one after another through every
//    target in turn (object by object, so that a burst of load falls on every target alike); what a cache
//    adds to the origin's own time to first byte, per object.

import { rm } from 'node:fs/promises';
import { GiB, KiB, MiB } from './data.js';
import type { Plan, Results } from './plan.js';
import { type Origin, startKura, type Target, tempDir } from './targets.js';
import { curlClients } from './tools.js';
import { presignUrls } from './urls.js';

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

/** `origin` is S3-like; `nginx` caches in front of it (its cache must not hold the keys used here). */
export async function runColdAggregate(
  plan: Plan,
  results: Results,
  origin: Origin,
  nginx: Target,
): Promise<void> {
  const { size, clients } = plan.cold;
  const cell = `${clients} clients × ${size / MiB} MiB, S3-like`;
  const volume = await tempDir('kura-bench-volume-');
  const kura = await startKura(origin.url, volume);
  try {
    console.log(`cold aggregate: ${cell}`);
    for (const [n, [name, target]] of (
      [
        ['direct', origin],
        ['kura cold', kura],
        ['nginx cold', nginx],
      ] as const
    ).entries()) {
      const keys = Array.from({ length: clients }, (_, i) => `cold/${n}-${i}.bin`);
      for (const key of keys) await origin.put(key, size);
      const urls = await presignUrls(target.url, keys);
      await origin.stats();
      const cpu0 = target.cpu();
      const { seconds, transfers } = await curlClients(
        urls.map((u) => [u]),
        size,
      );
      const cpu = target.cpu() - cpu0;
      const seen = await origin.stats();
      for (const key of keys) await origin.delete(key);
      const served = clients * size;
      const times = transfers.map((t) => t.seconds * 1000);
      results.add({
        workload: 'cold',
        cell,
        target: name,
        value: served / MiB / seconds,
        unit: 'MiB/s',
        higherIsBetter: true,
        p50: quantile(times, 0.5),
        p99: Math.max(...times),
        cpuPerGiB: name === 'direct' ? undefined : cpu / (served / GiB),
        note: `origin sent ${(seen.bodyBytes / served).toFixed(2)}× the bytes served`,
      });
    }
  } finally {
    await kura.stop();
    await rm(volume, { recursive: true, force: true });
  }
}

/**
 * `origin` answers at loopback speed; `nginx` caches in front of it. Each object is read once through
 * every target, the order rotating from one object to the next; per object, the cache's time to first
 * byte minus the origin's.
 */
export async function runColdTtfb(
  plan: Plan,
  results: Results,
  origin: Origin,
  nginx: Target,
): Promise<void> {
  const { ttfbObjects, ttfbSize } = plan.cold;
  const cell = `${ttfbObjects} × ${ttfbSize / KiB} KiB, loopback`;
  const volume = await tempDir('kura-bench-volume-');
  const kura = await startKura(origin.url, volume);
  try {
    console.log(`cold time to first byte: ${cell}`);
    const targets: [string, Target][] = [
      ['direct', origin],
      ['kura cold', kura],
      ['nginx cold', nginx],
    ];
    // Object 0 opens every target's connection and wakes its code; it is left out of the figures.
    const keys = Array.from({ length: ttfbObjects + 1 }, (_, i) => `ttfb/object-${i}.bin`);
    for (const key of keys) await origin.put(key, ttfbSize);
    const urls = await Promise.all(targets.map(([, t]) => presignUrls(t.url, keys)));
    const order: { object: number; target: number }[] = [];
    for (let i = 0; i < keys.length; i++) {
      for (let j = 0; j < targets.length; j++) order.push({ object: i, target: (i + j) % targets.length });
    }
    const { transfers } = await curlClients(
      [order.map((o) => urls[o.target]?.[o.object] as string)],
      ttfbSize,
    );
    const firstByte = targets.map(() => new Array<number>(keys.length).fill(Number.NaN));
    for (const [k, o] of order.entries()) {
      (firstByte[o.target] as number[])[o.object] = (transfers[k]?.firstByte ?? Number.NaN) * 1000;
    }
    const measured = firstByte.map((ms) => ms.slice(1));
    const direct = measured[0] as number[];
    for (const [t, [name]] of targets.entries()) {
      const ms = measured[t] as number[];
      results.add({
        workload: 'cold ttfb',
        cell,
        target: name,
        value: quantile(ms, 0.5),
        unit: 'ms to first byte',
        higherIsBetter: false,
        p50: quantile(ms, 0.5),
        p99: quantile(ms, 0.99),
      });
      if (t === 0) continue;
      const added = ms.map((v, i) => v - (direct[i] as number));
      results.add({
        workload: 'cold ttfb',
        cell: `${cell}: added to direct's`,
        target: name,
        value: quantile(added, 0.5),
        unit: 'ms added',
        higherIsBetter: false,
        p50: quantile(added, 0.5),
        p99: quantile(added, 0.99),
      });
    }
    for (const key of keys) await origin.delete(key);
  } finally {
    await kura.stop();
    await rm(volume, { recursive: true, force: true });
  }
}
