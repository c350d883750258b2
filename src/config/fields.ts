// Field kinds of the configuration schema. Each field knows its default, how to read a raw YAML/env
// value, and how to describe what it accepts, so that every error can say what is allowed.

import { isIP } from 'node:net';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

/** `problem` is the end of a sentence that starts with the field path and the value. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface Field<T> {
  readonly default: T;
  /** One line for `config/kura.example.yaml` and `kura config check`. */
  readonly doc: string;
  parse(raw: unknown): Parsed<T>;
  /** The value as an operator would write it back in YAML. */
  show(value: T): unknown;
  /**
   * false: problems do not quote the value given, because it is large and may hold secrets (gateway
   * routes hold credentials); the problem itself names the item and field.
   */
  readonly echo?: false;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

function field<T>(
  defaultValue: T,
  doc: string,
  parse: (raw: unknown) => Parsed<T>,
  show: (v: T) => unknown = (v) => v,
): Field<T> {
  return { default: defaultValue, doc, parse, show };
}

/** YAML and env give numbers as strings sometimes; accept plain digits for integers. */
function asInteger(raw: unknown): number | null {
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
  if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) return Number(raw);
  return null;
}

/** `zero` says what 0 means for this port, if anything: a listener turned off, or any free port. */
export function port(
  defaultValue: number,
  doc: string,
  opts: { zero?: 'off' | 'ephemeral' } = {},
): Field<number> {
  const allowed = opts.zero
    ? `a port (an integer 1-65535, or 0 for ${opts.zero === 'off' ? 'off' : 'any free port'})`
    : 'a port (an integer 1-65535)';
  return field(defaultValue, doc, (raw) => {
    const n = asInteger(raw);
    const min = opts.zero ? 0 : 1;
    return n !== null && n >= min && n <= 65535 ? ok(n) : bad(`is not ${allowed}`);
  });
}

/** An address to listen on: an IP literal or a host name. */
export function listenHost(defaultValue: string, doc: string): Field<string> {
  return field(defaultValue, doc, (raw) =>
    typeof raw === 'string' && (isIP(raw) !== 0 || /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(raw))
      ? ok(raw)
      : bad('is not an address to listen on (an IPv4/IPv6 address or a host name)'),
  );
}

export function duration(defaultMs: number, doc: string): Field<number> {
  return field(
    defaultMs,
    doc,
    (raw) => {
      const ms = parseDuration(raw);
      return ms === null
        ? bad('is not a duration (a number of seconds, or like 500ms, 30s, 5m, 1h, 1d)')
        : ok(ms);
    },
    formatDuration,
  );
}

export function size(
  defaultBytes: number,
  doc: string,
  opts: { min?: number; max?: number } = {},
): Field<number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return field(
    defaultBytes,
    doc,
    (raw) => {
      const bytes = parseSize(raw);
      if (bytes === null) return bad('is not a size (a number of bytes, or like 64KiB, 512MiB, 100GiB, 1TB)');
      if (bytes < min || bytes > max)
        return bad(`is out of range (${formatSize(min)} to ${formatSize(max)})`);
      return ok(bytes);
    },
    formatSize,
  );
}

export function text(defaultValue: string, doc: string): Field<string> {
  return field(defaultValue, doc, (raw) =>
    typeof raw === 'string' && raw.length > 0 ? ok(raw) : bad('is not a non-empty string'),
  );
}

export function optionalText(doc: string): Field<string | null> {
  return field<string | null>(null, doc, (raw) =>
    raw === null || (typeof raw === 'string' && raw.length > 0) ? ok(raw) : bad('is not a string or null'),
  );
}

export function oneOf<T extends string>(defaultValue: T, allowed: readonly T[], doc: string): Field<T> {
  return field(defaultValue, doc, (raw) =>
    typeof raw === 'string' && (allowed as readonly string[]).includes(raw)
      ? ok(raw as T)
      : bad(`is not one of ${allowed.join(', ')}`),
  );
}

/** A list; a comma-separated string is accepted too, as env variables give lists that way. */
export function list<T>(
  defaultValue: T[],
  doc: string,
  item: (raw: unknown) => Parsed<T>,
  show: (v: T[]) => unknown = (v) => v,
): Field<T[]> {
  return field(
    defaultValue,
    doc,
    (raw) => {
      const items =
        typeof raw === 'string'
          ? raw
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '')
          : raw;
      if (items === null) return ok([]);
      if (!Array.isArray(items)) return bad('is not a list');
      const out: T[] = [];
      for (const [i, entry] of items.entries()) {
        const p = item(entry);
        if (!p.ok) return bad(`has item ${i} ${JSON.stringify(entry)} that ${p.problem}`);
        out.push(p.value);
      }
      return ok(out);
    },
    show,
  );
}

export function map<T>(
  doc: string,
  entry: (key: string, raw: unknown) => Parsed<T>,
  show: (v: T) => unknown,
) {
  return field<Record<string, T>>(
    {},
    doc,
    (raw) => {
      if (raw === null) return ok({});
      if (typeof raw !== 'object' || Array.isArray(raw)) return bad('is not a mapping');
      const out: Record<string, T> = {};
      for (const [key, value] of Object.entries(raw)) {
        const p = entry(key, value);
        if (!p.ok) return bad(`has entry ${JSON.stringify(key)} that ${p.problem}`);
        out[key] = p.value;
      }
      return ok(out);
    },
    (v) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)])),
  );
}

export function custom<T>(
  defaultValue: T,
  doc: string,
  parse: (raw: unknown) => Parsed<T>,
  show?: (v: T) => unknown,
): Field<T> {
  return field(defaultValue, doc, parse, show);
}

export { bad, ok };

/** A share of something, as an integer percent: `90`, or `"90%"`. */
export function percent(defaultValue: number, doc: string, opts: { min?: number } = {}): Field<number> {
  const min = opts.min ?? 1;
  return field(
    defaultValue,
    doc,
    (raw) => {
      const text = typeof raw === 'string' ? raw.trim().replace(/%$/, '') : raw;
      const n = asInteger(text);
      return n !== null && n >= min && n <= 100 ? ok(n) : bad(`is not a percentage (an integer ${min}-100)`);
    },
    (v) => `${v}%`,
  );
}

/** Reads a mapping, refusing unknown fields: a typo must not silently change who may read what. */
export function fieldsOf(
  raw: unknown,
  allowed: readonly string[],
  what: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad(`${what} is not a mapping`);
  const unknown = Object.keys(raw).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    return bad(`${what} has unknown field ${unknown[0]} (allowed: ${allowed.join(', ')})`);
  return ok(raw as Record<string, unknown>);
}
