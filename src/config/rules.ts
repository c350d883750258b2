// The cache rules file: globs over `bucket/key` that pick TTLs and storage choices per object. It is
// reloaded while Kura runs; a bad edit is refused and logged, and the last good rules stay in force.
//
//   # first matching rule wins; fields left out take the cache.* defaults
//   rules:
//     - match: "analytics/tables/**"   # * = a run without '/', ** = anything, ? = one char but '/'
//       get_ttl: 1h
//       head_ttl: 30s
//       read: true                     # false: every GET/HEAD passes (counted as bypass 'rule')
//       compress: true                 # LZ4 chunks of matching objects
//       ram: true                      # eligible for the in-memory tier
//       write_cache: true              # PUT and multipart uploads are kept as they stream to S3
//       stale_if_error: 10m            # serve stale this long past TTL when S3 fails
//       hit_auth: signed               # who may read a fresh hit: any, signed or s3 (config/access.ts)
//       list_ttl: 5m                   # ListObjects answers kept this long (src/cache/list/); 0 never

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../telemetry/log.js';
import { HIT_AUTH_LEVELS, type HitAuth } from './access.js';
import { compileGlob, type Glob } from './glob.js';
import { closest } from './load.js';
import { parseDuration } from './units.js';

/**
 * From `cache.get_ttl`, `cache.head_ttl`, `cache.stale_if_error`, `cache.list_ttl` (milliseconds) and
 * `cache.hit_auth`.
 */
export interface RuleDefaults {
  getTtl: number;
  headTtl: number;
  staleIfError: number;
  listTtl: number;
  hitAuth: HitAuth;
}

/** The settings that apply to one object: a rule's fields over the defaults. */
export interface EffectiveRule {
  /** The glob of the rule that matched; `null` when none did and the defaults apply. */
  match: string | null;
  /** Milliseconds a GET answer is served without asking S3. */
  getTtl: number;
  /** Milliseconds a HEAD answer is served without asking S3. */
  headTtl: number;
  /** `false`: GET and HEAD pass through uncached (bypass `rule`). */
  read: boolean;
  /** LZ4-compress chunks (still content-aware: already-compressed formats stay raw). */
  compress: boolean;
  /** Eligible for the in-memory tier. */
  ram: boolean;
  /** PUT and multipart upload bodies are cached as they stream to S3 (a write always invalidates). */
  writeCache: boolean;
  /** Milliseconds past the TTL an entry may be served when S3 answers 5xx or cannot be reached. */
  staleIfError: number;
  /** Who may read a fresh hit (config/access.ts). */
  hitAuth: HitAuth;
  /**
   * Milliseconds a ListObjects answer is served to the same credential without asking S3; 0 never. A
   * listing takes the rule of `bucket/prefix`.
   */
  listTtl: number;
}

export interface CompiledRules {
  /** The first rule whose glob matches `bucket/key`, or the defaults. */
  ruleFor(bucket: string, key: string): EffectiveRule;
  count: number;
}

export type ParseRulesResult = { ok: true; rules: CompiledRules } | { ok: false; problems: string[] };

type RuleSettings = Omit<EffectiveRule, 'match'>;

interface SettingField {
  key: keyof RuleSettings;
  kind: 'duration' | 'boolean' | 'hit-auth';
}

/** YAML names of a rule's settings, in the order the docs list them. */
const SETTINGS: Readonly<Record<string, SettingField>> = {
  get_ttl: { key: 'getTtl', kind: 'duration' },
  head_ttl: { key: 'headTtl', kind: 'duration' },
  read: { key: 'read', kind: 'boolean' },
  compress: { key: 'compress', kind: 'boolean' },
  ram: { key: 'ram', kind: 'boolean' },
  write_cache: { key: 'writeCache', kind: 'boolean' },
  stale_if_error: { key: 'staleIfError', kind: 'duration' },
  hit_auth: { key: 'hitAuth', kind: 'hit-auth' },
  list_ttl: { key: 'listTtl', kind: 'duration' },
};

const RULE_FIELDS = ['match', ...Object.keys(SETTINGS)];

interface CompiledRule {
  glob: Glob;
  effective: EffectiveRule;
}

export function parseRules(text: string, source: string, defaults: RuleDefaults): ParseRulesResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return { ok: false, problems: [`${source}: not valid YAML: ${firstLine((err as Error).message)}`] };
  }
  const problems: string[] = [];
  const list = readTopLevel(raw, problems);
  const compiled: CompiledRule[] = [];
  for (const [index, entry] of (list ?? []).entries()) {
    const rule = readRule(entry, `rules[${index}]`, defaults, problems);
    if (rule !== null) compiled.push(rule);
  }
  if (problems.length > 0) return { ok: false, problems: problems.map((p) => `${source}: ${p}`) };
  return { ok: true, rules: compileRules(compiled, defaults) };
}

/**
 * The file is `{rules: [...]}`. An empty file is refused rather than read as "no rules": it is what a
 * reload sees when an editor has truncated the file and not yet written it; `rules: []` says it on purpose.
 */
function readTopLevel(raw: unknown, problems: string[]): unknown[] | null {
  if (raw === null || raw === undefined) {
    problems.push('the file is empty; write "rules: []" for no rules');
    return null;
  }
  if (!isMapping(raw)) {
    problems.push(`the top level is ${describe(raw)}, not a mapping like "rules: [ … ]"`);
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'rules') problems.push(`unknown field ${JSON.stringify(key)}${hint(key, ['rules'])}`);
  }
  if (!('rules' in raw)) {
    problems.push('rules: missing (a list of rules, or [] for none)');
    return null;
  }
  const list = raw.rules;
  if (list === null) return []; // `rules:` with every entry commented out
  if (!Array.isArray(list)) {
    problems.push(`rules: ${JSON.stringify(list)} is not a list`);
    return null;
  }
  return list;
}

function readRule(raw: unknown, at: string, defaults: RuleDefaults, problems: string[]): CompiledRule | null {
  if (!isMapping(raw)) {
    problems.push(`${at}: ${JSON.stringify(raw)} is not a mapping (a rule has match and settings)`);
    return null;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!RULE_FIELDS.includes(key))
      problems.push(`${at}: unknown field ${JSON.stringify(key)}${hint(key, RULE_FIELDS)}`);
  }
  const match = readMatch(raw.match, `${at}.match`, problems);
  const settings = defaultSettings(defaults);
  for (const [name, field] of Object.entries(SETTINGS)) {
    const value = raw[name];
    if (value === undefined) continue;
    const parsed = readSetting(field.kind, value);
    if ('problem' in parsed) problems.push(`${at}.${name}: ${JSON.stringify(value)} ${parsed.problem}`);
    else Object.assign(settings, { [field.key]: parsed.value });
  }
  if (match === null || problems.length > before) return null;
  return { glob: compileGlob(match), effective: Object.freeze({ match, ...settings }) };
}

/** Patterns cover `bucket/key`, so one without a `/` (or `**`) could never match anything. */
function readMatch(value: unknown, at: string, problems: string[]): string | null {
  if (value === undefined || value === null) {
    problems.push(`${at}: missing`);
    return null;
  }
  if (typeof value !== 'string' || value === '') {
    problems.push(`${at}: ${JSON.stringify(value)} is not a glob over bucket/key (like "my-bucket/logs/**")`);
    return null;
  }
  if (value.startsWith('/')) {
    problems.push(`${at}: ${JSON.stringify(value)} starts with "/"; globs start with the bucket name`);
    return null;
  }
  if (!value.includes('/') && !value.includes('**')) {
    problems.push(
      `${at}: ${JSON.stringify(value)} can never match: globs cover bucket/key, like "${value}/**"`,
    );
    return null;
  }
  return value;
}

/** The setting's value, or the end of a problem sentence that starts with the field and its value. */
function readSetting(
  kind: SettingField['kind'],
  value: unknown,
): { value: number | boolean | HitAuth } | { problem: string } {
  if (kind === 'duration') {
    const ms = parseDuration(value);
    return ms === null ? { problem: 'is not a duration (like 30s, 5m, 1h, 1d)' } : { value: ms };
  }
  // YAML 1.2 reads only `true`/`false` as booleans; `yes` is a string, refused rather than guessed.
  if (kind === 'boolean') return typeof value === 'boolean' ? { value } : { problem: 'is not true or false' };
  return (HIT_AUTH_LEVELS as readonly unknown[]).includes(value)
    ? { value: value as HitAuth }
    : { problem: `is not one of ${HIT_AUTH_LEVELS.join(', ')}` };
}

/** Reads and writes are cached, compressed where it pays and eligible for RAM unless a rule says otherwise. */
function defaultSettings(defaults: RuleDefaults): RuleSettings {
  return {
    getTtl: defaults.getTtl,
    headTtl: defaults.headTtl,
    read: true,
    compress: true,
    ram: true,
    writeCache: true,
    staleIfError: defaults.staleIfError,
    hitAuth: defaults.hitAuth,
    listTtl: defaults.listTtl,
  };
}

/** Rule objects are built once and frozen, so `ruleFor` allocates nothing but the path string. */
function compileRules(compiled: readonly CompiledRule[], defaults: RuleDefaults): CompiledRules {
  const fallback: EffectiveRule = Object.freeze({ match: null, ...defaultSettings(defaults) });
  return {
    count: compiled.length,
    ruleFor(bucket: string, key: string): EffectiveRule {
      const path = `${bucket}/${key}`;
      for (const rule of compiled) {
        if (rule.glob.matches(path)) return rule.effective;
      }
      return fallback;
    },
  };
}

/** `(did you mean get_ttl?)` for a typo or a name that is part of a real one (`ttl`), else the list. */
function hint(word: string, candidates: string[]): string {
  const near =
    closest(word, candidates) ??
    (word.length >= 3 ? candidates.find((c) => c.includes(word) || word.includes(c)) : undefined);
  return near ? ` (did you mean ${near}?)` : ` (allowed: ${candidates.join(', ')})`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'a list' : JSON.stringify(value);
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

export interface RulesFileOptions {
  /** How often the file is re-read, in ms (default 2000). */
  intervalMs?: number;
}

/**
 * The rules in force, reloaded from a file. The file is re-read on a timer rather than watched: inotify
 * sees nothing on NFS, and a stat there may be served from the attribute cache for up to a minute,
 * whereas opening the file revalidates it (close-to-open consistency). The file is small.
 *
 * A changed file is acted on only once two reads in a row agree, so a half-written file (an editor that
 * truncates and then writes) is never taken for the operator's intent.
 */
export class RulesFile {
  #rules: CompiledRules;
  #timer: NodeJS.Timeout | null = null;
  /** What the rules in force were built from, or the last state already acted on (and reported). */
  #seen: FileState;
  /** A state read once, waiting for a second identical read. */
  #pending: FileState | null = null;
  #busy = false;

  private constructor(
    private readonly path: string | null,
    private readonly defaults: RuleDefaults,
    private readonly log: Logger,
    rules: CompiledRules,
    seen: FileState,
  ) {
    this.#rules = rules;
    this.#seen = seen;
  }

  /** Rejects when the file cannot be read or has problems: a bad rules file must stop start-up. */
  static async open(
    path: string | null,
    defaults: RuleDefaults,
    log: Logger,
    opts: RulesFileOptions = {},
  ): Promise<RulesFile> {
    if (path === null) return new RulesFile(null, defaults, log, compileRules([], defaults), { text: '' });
    const state = await readState(path);
    if ('error' in state) throw new Error(`cannot read the cache rules file ${state.error}`);
    const parsed = parseRules(state.text, path, defaults);
    if (!parsed.ok) {
      throw new Error(`the cache rules file has problems:\n  ${parsed.problems.join('\n  ')}`);
    }
    const file = new RulesFile(path, defaults, log, parsed.rules, state);
    file.#timer = setInterval(() => void file.#poll(), opts.intervalMs ?? 2000);
    file.#timer.unref();
    return file;
  }

  get rules(): CompiledRules {
    return this.#rules;
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Reads the file at once (on SIGHUP) instead of waiting for the poll to see it settle. */
  async reload(): Promise<void> {
    if (this.path === null || this.#timer === null) return;
    const state = await readState(this.path);
    if (sameState(state, this.#seen)) {
      this.log.info('cache rules unchanged', { path: this.path, count: this.#rules.count });
      return;
    }
    this.#apply(state);
  }

  async #poll(): Promise<void> {
    if (this.#busy || this.path === null) return;
    this.#busy = true;
    try {
      const state = await readState(this.path);
      if (this.#timer === null) return; // closed while reading
      if (sameState(state, this.#seen)) this.#pending = null;
      else if (this.#pending === null || !sameState(state, this.#pending)) this.#pending = state;
      else this.#apply(state);
    } finally {
      this.#busy = false;
    }
  }

  #apply(state: FileState): void {
    this.#seen = state;
    this.#pending = null;
    const path = this.path ?? '';
    if ('error' in state) {
      this.log.error('cache rules file unreadable; keeping the last good rules', {
        path,
        problems: [state.error],
      });
      return;
    }
    const parsed = parseRules(state.text, path, this.defaults);
    if (!parsed.ok) {
      this.log.error('cache rules not reloaded; keeping the last good rules', {
        path,
        problems: parsed.problems,
      });
      return;
    }
    this.#rules = parsed.rules;
    this.log.info('cache rules reloaded', { path, count: parsed.rules.count });
  }
}

/** The file's content, or why it could not be read (`path: ENOENT: …`). */
type FileState = { text: string } | { error: string };

function sameState(a: FileState, b: FileState): boolean {
  return 'text' in a ? 'text' in b && a.text === b.text : 'error' in b && a.error === b.error;
}

async function readState(path: string): Promise<FileState> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    return { error: `${path}: ${(err as Error).message}` };
  }
}
