// What a run measures, full or quick, and the record every workload adds its figures to.

import { type OriginProfile, S3_LIKE } from '../test/support/memory-origin.js';
import { GiB, KiB, MiB } from './data.js';
import type { LakeSpec } from './lake.js';

export interface Plan {
  quick: boolean;
  /** Seconds per wrk cell. */
  seconds: number;
  large: { size: number; concurrency: number[]; rounds: number };
  small: { sizes: number[]; objects: number; concurrency: number[] };
  /** Random ranges of `bytes` over the large objects, `connections` at once. */
  ranges: { bytes: number; connections: number };
  /** The origin of the cold aggregate, herd and analytics cells (memory-origin-profile.ts). */
  s3like: OriginProfile;
  /** One large file for (c), the lake for (a) and (b); warm queries repeated (median of `repeats`). */
  analytics: { rows: number; rowGroupSize: number; lake: LakeSpec; repeats: number };
  herd: { size: number; clients: number };
  /** `clients` objects of `size`, one per client at once, S3-like; `ttfbObjects` small ones at loopback speed. */
  cold: { size: number; clients: number; ttfbObjects: number; ttfbSize: number };
  /** 'default config': a 512 MiB RAM tier, which a cold read fills; 'RAM tier off': cache.ram_size 0. */
  memory: { size: number; variants: ('default config' | 'RAM tier off')[] };
  /** Kura's RAM tier for the warm-RAM target: room for every object of the large and small workloads. */
  ramSize: number;
}

export function makePlan(quick: boolean): Plan {
  if (quick) {
    return {
      quick,
      seconds: 1,
      large: { size: 32 * MiB, concurrency: [1], rounds: 1 },
      small: { sizes: [64 * KiB], objects: 50, concurrency: [16] },
      ranges: { bytes: 64 * KiB, connections: 16 },
      s3like: S3_LIKE,
      analytics: {
        rows: 131_072,
        rowGroupSize: 16_384,
        lake: { days: 4, regions: 2, rowsPerFile: 2048, rowGroupSize: 512 },
        repeats: 1,
      },
      herd: { size: 16 * MiB, clients: 4 },
      cold: { size: 4 * MiB, clients: 8, ttfbObjects: 20, ttfbSize: 64 * KiB },
      memory: { size: 128 * MiB, variants: ['RAM tier off'] },
      ramSize: 1 * GiB,
    };
  }
  return {
    quick,
    seconds: 6,
    large: { size: 256 * MiB, concurrency: [1, 4], rounds: 4 },
    small: { sizes: [4 * KiB, 64 * KiB], objects: 200, concurrency: [1, 16, 64] },
    ranges: { bytes: 64 * KiB, connections: 16 },
    s3like: S3_LIKE,
    analytics: {
      // 2 Mi rows of 8 columns: ~113 MB of Snappy pages in 16 row groups.
      rows: 2_097_152,
      rowGroupSize: 131_072,
      // 60 days × 4 regions = 240 files of 16 Ki rows (~1 MB, 4 row groups of 6 hours each).
      lake: { days: 60, regions: 4, rowsPerFile: 16_384, rowGroupSize: 4096 },
      repeats: 5,
    },
    herd: { size: 64 * MiB, clients: 8 },
    cold: { size: 128 * MiB, clients: 8, ttfbObjects: 300, ttfbSize: 64 * KiB },
    memory: { size: 4 * GiB, variants: ['default config', 'RAM tier off'] },
    ramSize: 2 * GiB,
  };
}

/** Target names, in the order tables show them. */
export const TARGETS = [
  'direct',
  'ceiling',
  'nginx cold',
  'nginx warm',
  'kura cold',
  'kura warm disk',
  'kura warm ram',
] as const;
export type TargetName = (typeof TARGETS)[number] | string;

/** One figure: a target in one cell of a workload. */
export interface Figure {
  workload: string;
  cell: string;
  target: TargetName;
  value: number;
  unit: string;
  /** Throughput-like figures are better high; times and bytes are better low. */
  higherIsBetter: boolean;
  p50?: number;
  p99?: number;
  /** CPU seconds of the target's own process(es) per GiB served. */
  cpuPerGiB?: number;
  note?: string;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];

  add(figure: Figure): void {
    this.figures.push(figure);
    const lat =
      figure.p50 === undefined
        ? ''
        : `  p50 ${figure.p50.toFixed(2)} ms  p99 ${(figure.p99 ?? 0).toFixed(2)} ms`;
    const cpu = figure.cpuPerGiB === undefined ? '' : `  ${figure.cpuPerGiB.toFixed(2)} CPU s/GiB`;
    console.log(
      `  ${figure.workload.padEnd(10)} ${figure.cell.padEnd(18)} ${String(figure.target).padEnd(15)} ` +
        `${figure.value.toFixed(figure.value < 10 ? 2 : 0).padStart(9)} ${figure.unit}${lat}${cpu}`,
    );
  }

  find(workload: string, cell: string, target: TargetName): Figure | undefined {
    return this.figures.find((f) => f.workload === workload && f.cell === cell && f.target === target);
  }
}
