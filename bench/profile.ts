// CPU profiles of Kura's hot paths, for when a goal is missed: `kura serve` runs under `node --cpu-prof`
// through one scenario at a time (a cold fill of large objects, warm large reads from the files, warm
// small reads from RAM), and the functions with the most self time are listed.
//
//   npm run bench -- --profile       writes bench/.cache/profiles/<scenario>/*.cpuprofile and prints
//                                    the top functions (open a .cpuprofile in Chrome DevTools for more)

import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CACHE_DIR, KiB, MiB } from './data.js';
import { type Origin, startKura, tempDir } from './targets.js';
import { curlClients, wrk } from './tools.js';
import { presignAll, presignUrls } from './urls.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The `top` functions by self time: `share% ms name (file:line)`. */
export async function topFunctions(file: string, top = 15): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
    samples: number[];
  };
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ` (${where})` : ''}`;
    self.set(name, (self.get(name) ?? 0) + hits);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([name, hits]) =>
        `${((hits / total) * 100).toFixed(1).padStart(5)}% ${(hits * msPerSample).toFixed(0).padStart(6)} ms  ${name}`,
    );
}

async function profiled(
  origin: Origin,
  name: string,
  volume: string,
  ramSize: number,
  work: (url: string) => Promise<void>,
): Promise<string[]> {
  const dir = join(CACHE_DIR, 'profiles', name);
  await rm(dir, { recursive: true, force: true });
  const kura = await startKura(origin.url, volume, {
    ramSize,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  try {
    await work(kura.url);
  } finally {
    await kura.stop();
  }
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  return [`${name}: ${join(dir, file)}`, ...(await topFunctions(join(dir, file)))];
}

/** Three scenarios on one volume: the fills, then warm reads from files, then from RAM. */
export async function runProfiles(origin: Origin, workDir: string): Promise<string[]> {
  const big = Array.from({ length: 2 }, (_, i) => `profile/big-${i}.bin`);
  const small = Array.from({ length: 200 }, (_, i) => `profile/small-${i}.bin`);
  for (const key of big) await origin.put(key, 256 * MiB);
  for (const key of small) await origin.put(key, 64 * KiB);
  const volume = await tempDir('kura-bench-volume-');
  const out: string[] = [];
  try {
    out.push(
      ...(await profiled(origin, 'cold-fill-256MiB', volume, 0, async (url) => {
        await curlClients([await presignUrls(url, big)], 256 * MiB);
        const urls = await presignUrls(url, small);
        await curlClients([urls], 64 * KiB);
      })),
      '',
      ...(await profiled(origin, 'warm-disk-256MiB', volume, 0, async (url) => {
        const urls = await presignUrls(url, big);
        await curlClients([[...urls, ...urls]], 256 * MiB);
      })),
      '',
      ...(await profiled(origin, 'warm-ram-64KiB-c16', volume, 2 ** 30, async (url) => {
        const paths = await presignAll(url, small);
        await wrk(url, paths, 16, 1, workDir); // fills the RAM tier from the files
        await wrk(url, paths, 16, 5, workDir);
      })),
    );
  } finally {
    await rm(volume, { recursive: true, force: true });
    for (const key of [...big, ...small]) await origin.delete(key);
  }
  return out;
}
