// Durations and sizes as operators write them: `30s`, `1d`, `512MiB`.
// Plain numbers are accepted too: seconds for durations, bytes for sizes.

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Milliseconds, or `null` when the value is not a duration. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number')
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(value);
  if (!m) return null;
  const unit = DURATION_UNITS[(m[2] ?? 's').toLowerCase()] as number;
  return Math.round(Number(m[1]) * unit);
}

/** Bytes, or `null` when the value is not a size. */
export function parseSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(value);
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] as number));
  return Number.isSafeInteger(bytes) ? bytes : null;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(DURATION_UNITS).reverse()) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB']) {
    const size = SIZE_UNITS[unit.toLowerCase()] as number;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/**
 * For people reading a report, not for config files: the largest binary unit the size reaches, with
 * one decimal below 100 (`781.3KiB` → `781KiB`, `1.5GiB`, `512B`), so every size on a screen reads alike.
 */
export function describeSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB']) {
    const size = SIZE_UNITS[unit.toLowerCase()] as number;
    if (bytes >= size) return `${roughly(bytes / size)}${unit}`;
  }
  return `${bytes}B`;
}

/** Like describeSize, for a span of time: `850ms`, `12.3s`, `4.5m`, `3h`, `2.1d`. */
export function describeDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = DURATION_UNITS[unit] as number;
    if (ms >= size) return `${roughly(ms / size)}${unit}`;
  }
  return `${Math.round(ms)}ms`;
}

function roughly(n: number): string {
  return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}
