// Effective configuration: schema defaults, then the YAML file, then KURA_* variables, then command-line
// flags. Every problem is collected (not just the first) and names the field, the value and its source.

import { isField, type KuraConfig, schema } from './schema.js';
import { readYamlFile } from './yaml-file.js';

/** A value given by a source other than the file: a dotted field path and the raw value. */
export interface Setting {
  path: string;
  value: unknown;
  /** How the operator gave it: `KURA_HTTP_PORT`, `--http-port`. */
  source: string;
}

export interface ConfigProblem {
  path: string;
  message: string;
  /** `file:line` of the value in the YAML file, when it came from there. */
  where?: string;
}

export type LoadResult = { ok: true; config: KuraConfig } | { ok: false; problems: ConfigProblem[] };

/** KURA_* variables for the settings operators change most, mapped to their fields. */
export const ENV_SETTINGS: Record<string, string> = {
  KURA_HTTP_HOST: 'server.http_host',
  KURA_HTTP_PORT: 'server.http_port',
  KURA_HTTPS_PORT: 'server.https_port',
  KURA_TLS_PORT: 'server.tls_port',
  KURA_TLS_CERT: 'server.tls.cert',
  KURA_TLS_KEY: 'server.tls.key',
  KURA_ADMIN_HOST: 'admin.host',
  KURA_ADMIN_PORT: 'admin.port',
  KURA_CACHE_DIR: 'cache.dir',
  KURA_MAX_SIZE: 'cache.max_size',
  KURA_RAM_SIZE: 'cache.ram_size',
  KURA_ALLOW: 'upstream.allow',
  KURA_DNS_SERVERS: 'upstream.dns_servers',
  KURA_ORIGIN: 'upstream.overrides.*',
  KURA_LOG_LEVEL: 'log.level',
  KURA_LOG_ACCESS: 'log.access',
  KURA_LOG_ACCESS_FORMAT: 'log.access_format',
  KURA_SHUTDOWN_GRACE: 'server.shutdown_grace',
  KURA_WORKERS: 'server.workers',
  KURA_OTLP_ENDPOINT: 'telemetry.otlp.endpoint',
};

export function envSettings(env: NodeJS.ProcessEnv): Setting[] {
  return Object.entries(ENV_SETTINGS)
    .filter(([name]) => env[name] !== undefined && env[name] !== '')
    .map(([name, path]) => ({ path, value: env[name], source: name }));
}

/**
 * The file's problems are reported like field problems: a syntax error at path `(file)`, a bad value at
 * its field with `where` set to its line, unless a variable or flag gave the value.
 */
export function loadConfig(opts: { file?: string | null; settings?: Setting[] }): LoadResult {
  const settings = opts.settings ?? [];
  if (!opts.file) return buildConfig({}, settings);
  const file = readYamlFile(opts.file);
  if (!file.ok) return { ok: false, problems: [{ path: '(file)', message: file.message }] };
  const result = buildConfig(file.raw, settings);
  if (result.ok) return result;
  const fromSettings = new Set(settings.map((s) => fieldPathOf(s.path)));
  const problems = result.problems.map((p) => {
    const where = fromSettings.has(p.path) ? null : file.where(pathParts(p.path));
    return where === null ? p : { ...p, where };
  });
  return { ok: false, problems };
}

export function buildConfig(fileRaw: unknown, settings: Setting[]): LoadResult {
  const problems: ConfigProblem[] = [];
  const sources = new Map<string, string>();
  const merged = structuredClone(fileRaw ?? {}) as Record<string, unknown>;
  if (typeof merged !== 'object' || Array.isArray(merged)) {
    return { ok: false, problems: [{ path: '(file)', message: 'the top level is not a mapping' }] };
  }
  for (const s of settings) {
    setPath(merged, s.path, s.value);
    sources.set(fieldPathOf(s.path), s.source);
  }
  const config = validateNode(schema, merged, '', problems, sources);
  problems.push(...crossFieldProblems(config as unknown as KuraConfig, problems));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: config as KuraConfig };
}

/** Fields that are valid alone but not together; only checked when both parsed. */
function crossFieldProblems(config: KuraConfig, problems: ConfigProblem[]): ConfigProblem[] {
  const failed = new Set(problems.map((p) => p.path));
  const c = config.cache;
  if (failed.has('cache.eviction_trigger') || failed.has('cache.eviction_target')) return [];
  if (c.eviction_target >= c.eviction_trigger) {
    return [
      {
        path: 'cache.eviction_target',
        message: `${c.eviction_target}% is not below cache.eviction_trigger (${c.eviction_trigger}%)`,
      },
    ];
  }
  return [];
}

/** `upstream.overrides.*` is a map entry; the field it belongs to is `upstream.overrides`. */
function fieldPathOf(path: string): string {
  return path.startsWith('upstream.overrides.') ? 'upstream.overrides' : path;
}

/** A dotted path's keys; an `upstream.overrides` entry's name may hold dots of its own. */
function pathParts(path: string): string[] {
  return path.startsWith('upstream.overrides.')
    ? ['upstream', 'overrides', path.slice('upstream.overrides.'.length)]
    : path.split('.');
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = pathParts(path);
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function validateNode(
  node: object,
  raw: unknown,
  prefix: string,
  problems: ConfigProblem[],
  sources: Map<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const given = raw === undefined || raw === null ? {} : raw;
  if (typeof given !== 'object' || Array.isArray(given)) {
    problems.push({ path: prefix.slice(0, -1), message: `${JSON.stringify(raw)} is not a mapping` });
    return out;
  }
  const entries = given as Record<string, unknown>;
  for (const key of Object.keys(entries)) {
    if (!(key in node)) {
      const hint = closest(key, Object.keys(node));
      problems.push({
        path: `${prefix}${key}`,
        message: `unknown field${hint ? ` (did you mean ${prefix}${hint}?)` : ''}; allowed: ${Object.keys(node).join(', ')}`,
      });
    }
  }
  for (const [key, child] of Object.entries(node)) {
    const path = `${prefix}${key}`;
    if (isField(child)) {
      if (entries[key] === undefined) {
        out[key] = child.default;
        continue;
      }
      const parsed = child.parse(entries[key]);
      if (parsed.ok) out[key] = parsed.value;
      else {
        const source = sources.get(path);
        problems.push({
          path,
          message: `${source ? `(from ${source}) ` : ''}${child.echo === false ? '' : `${JSON.stringify(entries[key])} `}${parsed.problem}`,
        });
      }
    } else {
      out[key] = validateNode(child as object, entries[key], `${path}.`, problems, sources);
    }
  }
  return out;
}

/** A likely intended field name, for typos (edit distance ≤ 2). */
export function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The effective config as YAML-ready data: sizes and durations written the way operators write them. */
export function showConfig(config: KuraConfig): unknown {
  const walk = (node: object, value: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(node).map(([key, child]) => [
        key,
        isField(child)
          ? child.show(value[key])
          : walk(child as object, value[key] as Record<string, unknown>),
      ]),
    );
  return walk(schema, config as unknown as Record<string, unknown>);
}
