// Workload 4, the herd: N clients start the same cold object at once; time to the last byte and how
// many bytes the origin sent for it. Workload 5, memory: Kura's peak RSS (VmHWM of its process) while it
// streams one very large object cold, then warm (a fresh process on the same volume, so that each peak
// is its own).

import { rm } from 'node:fs/promises';
import { MiB } from './data.js';
import type { Plan, Results } from './plan.js';
import { peakRss } from './proc.js';
import { type Origin, startCeiling, startKura, type Target, tempDir } from './targets.js';
import { curlClients } from './tools.js';
import { presignUrls } from './urls.js';

export async function runHerd(plan: Plan, results: Results, origin: Origin, nginx: Target): Promise<void> {
  const { size, clients } = plan.herd;
  const cell = `${size / MiB} MiB × ${clients} clients`;
  const volume = await tempDir('kura-bench-volume-');
  const kura = await startKura(origin.url, volume);
  try {
    let n = 0;
    for (const [name, target] of [
      ['direct', origin],
      ['kura cold', kura],
      ['nginx cold', nginx],
    ] as const) {
      const key = `herd/object-${n++}.bin`;
      await origin.put(key, size);
      await origin.stats();
      const [url] = await presignUrls(target.url, [key]);
      const { seconds } = await curlClients(
        Array.from({ length: clients }, () => [url as string]),
        size,
      );
      const stats = await origin.stats();
      results.add({
        workload: 'herd',
        cell,
        target: name,
        value: seconds * 1000,
        unit: 'ms to last byte',
        higherIsBetter: false,
      });
      results.add({
        workload: 'herd',
        cell: `${cell}: origin bytes / size`,
        target: name,
        value: stats.bodyBytes / size,
        unit: '× object size',
        higherIsBetter: false,
      });
      await origin.delete(key);
    }
  } finally {
    await kura.stop();
    await rm(volume, { recursive: true, force: true });
  }
}

/**
 * The object streams from a ceiling-server process (which makes it on the fly): the verifying origin
 * cannot hold a 4 GiB object. Kura's cold read is a plain whole GET either way.
 */
export async function runMemory(plan: Plan, results: Results): Promise<void> {
  const { size } = plan.memory;
  const key = 'memory/huge.bin';
  const origin = await startCeiling([{ key, size }]);
  const sizeName = size >= 2 ** 30 ? `${size / 2 ** 30} GiB` : `${size / MiB} MiB`;
  try {
    for (const label of plan.memory.variants) {
      const ramSize = label === 'RAM tier off' ? 0 : undefined;
      const volume = await tempDir('kura-bench-volume-');
      try {
        for (const phase of ['cold', 'warm']) {
          const kura = await startKura(origin.url, volume, ramSize === undefined ? {} : { ramSize });
          try {
            const [url] = await presignUrls(kura.url, [key]);
            const { seconds } = await curlClients([[url as string]], size);
            results.add({
              workload: 'memory',
              cell: `${sizeName}, ${label}`,
              target: `kura ${phase}`,
              value: peakRss(kura.pid) / MiB,
              unit: 'MiB peak RSS',
              higherIsBetter: false,
              note: `${(size / MiB / seconds).toFixed(0)} MiB/s`,
            });
          } finally {
            await kura.stop();
          }
        }
      } finally {
        await rm(volume, { recursive: true, force: true });
      }
    }
  } finally {
    await origin.stop();
  }
}
