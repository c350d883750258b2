import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CompiledRules,
  type EffectiveRule,
  parseRules,
  type RuleDefaults,
  RulesFile,
} from '../../../src/config/rules.js';
import type { Fields, Logger } from '../../../src/telemetry/log.js';

const DEFAULTS: RuleDefaults = { getTtl: 86_400_000, headTtl: 60_000, staleIfError: 0 };
const DEFAULT_RULE: EffectiveRule = {
  match: null,
  getTtl: 86_400_000,
  headTtl: 60_000,
  read: true,
  compress: true,
  ram: true,
  writeCache: true,
  staleIfError: 0,
};

function compile(text: string): CompiledRules {
  const parsed = parseRules(text, 'rules.yaml', DEFAULTS);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.rules;
}

function problemsOf(text: string): string[] {
  const parsed = parseRules(text, 'rules.yaml', DEFAULTS);
  assert.ok(!parsed.ok, 'expected problems');
  return parsed.problems;
}

/** A rules file (JSON is YAML) with one rule per glob. */
function rulesText(...rules: Record<string, unknown>[]): string {
  return JSON.stringify({ rules });
}

describe('parseRules', () => {
  const globs: [string, string, string, boolean][] = [
    ['b/*.parquet', 'b', 'y.parquet', true],
    ['b/*.parquet', 'b', 'x/y.parquet', false],
    ['b/**', 'b', 'x/y/z', true],
    ['b/**', 'bb', 'x', false],
    ['a+b/(x).txt', 'a+b', '(x).txt', true],
    ['a+b/(x).txt', 'aab', '(x).txt', false],
    ['*/k?y', 'any', 'key', true],
  ];
  for (const [glob, bucket, key, expected] of globs) {
    it(`matches ${glob} against ${bucket}/${key}: ${expected}`, () => {
      const rules = compile(rulesText({ match: glob, get_ttl: '5s' }));
      assert.equal(rules.ruleFor(bucket, key).match, expected ? glob : null);
    });
  }

  it('takes the first matching rule, and the defaults for fields it leaves out', () => {
    const rules = compile(`
# first matching rule wins
rules:
  - match: "b/special/**"
    get_ttl: 1m
  - match: "b/**"
    get_ttl: 1h
    head_ttl: 30s
    read: false
    compress: false
    ram: false
    write_cache: false
    stale_if_error: 10m
  - match: "b/special/never"
    get_ttl: 1s
`);
    assert.equal(rules.count, 3);
    assert.deepEqual(rules.ruleFor('b', 'special/x'), {
      ...DEFAULT_RULE,
      match: 'b/special/**',
      getTtl: 60_000,
    });
    assert.deepEqual(rules.ruleFor('b', 'special/never'), rules.ruleFor('b', 'special/x'));
    assert.deepEqual(rules.ruleFor('b', 'other'), {
      match: 'b/**',
      getTtl: 3_600_000,
      headTtl: 30_000,
      read: false,
      compress: false,
      ram: false,
      writeCache: false,
      staleIfError: 600_000,
    });
    assert.deepEqual(rules.ruleFor('c', 'special/x'), DEFAULT_RULE);
  });

  it('uses the defaults it is given', () => {
    const parsed = parseRules(rulesText({ match: 'b/**' }), 'r', { getTtl: 1, headTtl: 2, staleIfError: 3 });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.rules.ruleFor('b', 'k'), {
      ...DEFAULT_RULE,
      match: 'b/**',
      getTtl: 1,
      headTtl: 2,
      staleIfError: 3,
    });
    assert.deepEqual(parsed.rules.ruleFor('x', 'k'), {
      ...DEFAULT_RULE,
      getTtl: 1,
      headTtl: 2,
      staleIfError: 3,
    });
  });

  it('reads plain numbers as seconds and allows 0', () => {
    const rule = compile(rulesText({ match: 'b/**', get_ttl: 30, head_ttl: 0 })).ruleFor('b', 'k');
    assert.equal(rule.getTtl, 30_000);
    assert.equal(rule.headTtl, 0);
  });

  const empty: [string, string][] = [
    ['an empty list', 'rules: []'],
    ['rules with every entry commented out', 'rules:\n#  - match: "b/**"\n'],
  ];
  for (const [name, text] of empty) {
    it(`accepts ${name}`, () => {
      const rules = compile(text);
      assert.equal(rules.count, 0);
      assert.deepEqual(rules.ruleFor('b', 'k'), DEFAULT_RULE);
    });
  }

  it('hands out the same rule object on every call', () => {
    const rules = compile(rulesText({ match: 'b/**' }));
    assert.equal(rules.ruleFor('b', 'x'), rules.ruleFor('b', 'y'));
    assert.ok(Object.isFrozen(rules.ruleFor('b', 'x')));
    assert.ok(Object.isFrozen(rules.ruleFor('c', 'x')));
  });
});

describe('rules problems', () => {
  const cases: [string, string, string[]][] = [
    [
      'a bad duration',
      rulesText({ match: 'a/**' }, { match: 'b/**' }, { match: 'c/**', get_ttl: 'soon' }),
      ['rules.yaml: rules[2].get_ttl: "soon" is not a duration (like 30s, 5m, 1h, 1d)'],
    ],
    [
      'a negative duration',
      rulesText({ match: 'a/**', head_ttl: '-5s' }),
      ['rules.yaml: rules[0].head_ttl: "-5s" is not a duration (like 30s, 5m, 1h, 1d)'],
    ],
    [
      'an unknown unit',
      rulesText({ match: 'a/**', stale_if_error: '1y' }),
      ['rules.yaml: rules[0].stale_if_error: "1y" is not a duration (like 30s, 5m, 1h, 1d)'],
    ],
    [
      'a field that is part of a real one',
      rulesText({ match: 'a/**', ttl: '1h' }),
      ['rules.yaml: rules[0]: unknown field "ttl" (did you mean get_ttl?)'],
    ],
    [
      'a typo',
      rulesText({ match: 'a/**', head_tll: '1h' }),
      ['rules.yaml: rules[0]: unknown field "head_tll" (did you mean head_ttl?)'],
    ],
    [
      'an unknown field like no other',
      rulesText({ match: 'a/**', pattern: 'x' }),
      [
        'rules.yaml: rules[0]: unknown field "pattern" (allowed: match, get_ttl, head_ttl, read, compress, ram, write_cache, stale_if_error)',
      ],
    ],
    [
      'a missing match',
      rulesText({ match: 'a/**' }, { get_ttl: '1h' }),
      ['rules.yaml: rules[1].match: missing'],
    ],
    [
      'a match that is not a string',
      rulesText({ match: 5 }),
      ['rules.yaml: rules[0].match: 5 is not a glob over bucket/key (like "my-bucket/logs/**")'],
    ],
    [
      'an empty match',
      rulesText({ match: '' }),
      ['rules.yaml: rules[0].match: "" is not a glob over bucket/key (like "my-bucket/logs/**")'],
    ],
    [
      'a match with a leading slash',
      rulesText({ match: '/b/**' }),
      ['rules.yaml: rules[0].match: "/b/**" starts with "/"; globs start with the bucket name'],
    ],
    [
      'a match that names only a bucket',
      rulesText({ match: 'my-bucket' }),
      [
        'rules.yaml: rules[0].match: "my-bucket" can never match: globs cover bucket/key, like "my-bucket/**"',
      ],
    ],
    [
      'yes for a boolean',
      'rules:\n  - match: a/**\n    read: yes\n',
      ['rules.yaml: rules[0].read: "yes" is not true or false'],
    ],
    [
      '1 for a boolean',
      rulesText({ match: 'a/**', compress: 1 }),
      ['rules.yaml: rules[0].compress: 1 is not true or false'],
    ],
    [
      'a quoted boolean',
      rulesText({ match: 'a/**', ram: 'true' }),
      ['rules.yaml: rules[0].ram: "true" is not true or false'],
    ],
    [
      'a rule that is not a mapping',
      'rules:\n  - a/**\n',
      ['rules.yaml: rules[0]: "a/**" is not a mapping (a rule has match and settings)'],
    ],
    [
      'every problem of every rule',
      rulesText({ ttl: 1, read: 'no' }, { match: 'b/**', get_ttl: 'x' }),
      [
        'rules.yaml: rules[0]: unknown field "ttl" (did you mean get_ttl?)',
        'rules.yaml: rules[0].match: missing',
        'rules.yaml: rules[0].read: "no" is not true or false',
        'rules.yaml: rules[1].get_ttl: "x" is not a duration (like 30s, 5m, 1h, 1d)',
      ],
    ],
    ['an empty file', '', ['rules.yaml: the file is empty; write "rules: []" for no rules']],
    [
      'a file of comments',
      '# nothing yet\n',
      ['rules.yaml: the file is empty; write "rules: []" for no rules'],
    ],
    [
      'a list at the top',
      '- match: a/**\n',
      ['rules.yaml: the top level is a list, not a mapping like "rules: [ … ]"'],
    ],
    [
      'a scalar at the top',
      'hello',
      ['rules.yaml: the top level is "hello", not a mapping like "rules: [ … ]"'],
    ],
    [
      'no rules key',
      'rule: []',
      [
        'rules.yaml: unknown field "rule" (did you mean rules?)',
        'rules.yaml: rules: missing (a list of rules, or [] for none)',
      ],
    ],
    [
      'an unrelated top-level key',
      'rules: []\nversion: 2\n',
      ['rules.yaml: unknown field "version" (allowed: rules)'],
    ],
    ['rules as a mapping', 'rules: {}', ['rules.yaml: rules: {} is not a list']],
    ['rules as a string', 'rules: a/**', ['rules.yaml: rules: "a/**" is not a list']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(problemsOf(text), expected));
  }

  const notYaml: [string, string][] = [
    ['an unclosed list', 'rules: [\n'],
    ['a duplicated key', 'rules: []\nrules: []\n'],
    ['a bad indent', 'rules:\n  - match: a/**\n   get_ttl: 1h\n'],
    ['two documents', 'rules: []\n---\nrules: []\n'],
  ];
  for (const [name, text] of notYaml) {
    it(`refuses ${name} as not YAML`, () => {
      const problems = problemsOf(text);
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', /^rules\.yaml: not valid YAML: \S/);
      assert.doesNotMatch(problems[0] ?? '', /\n/);
    });
  }
});

interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  msg: string;
  fields: Fields | undefined;
}

function capturingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (msg: string, fields?: Fields): void => {
      entries.push({ level, msg, fields });
    };
  return { log: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, entries };
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('RulesFile', () => {
  const INTERVAL = 50;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kura-rules-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without a path has only the defaults', async () => {
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(null, DEFAULTS, log);
    assert.equal(file.rules.count, 0);
    assert.deepEqual(file.rules.ruleFor('b', 'k'), DEFAULT_RULE);
    file.close();
    assert.deepEqual(entries, []);
  });

  it('refuses to start from a missing file', async () => {
    const { log } = capturingLogger();
    await assert.rejects(RulesFile.open(join(dir, 'absent.yaml'), DEFAULTS, log), (err: Error) => {
      assert.match(err.message, /cannot read the cache rules file .*absent\.yaml: ENOENT/);
      return true;
    });
  });

  it('refuses to start from a bad file, listing every problem', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, rulesText({ match: 'a/**', get_ttl: 'soon' }, { read: true }));
    const { log } = capturingLogger();
    await assert.rejects(RulesFile.open(path, DEFAULTS, log), (err: Error) => {
      assert.ok(err.message.includes(`${path}: rules[0].get_ttl: "soon" is not a duration`), err.message);
      assert.ok(err.message.includes(`${path}: rules[1].match: missing`), err.message);
      return true;
    });
  });

  it('reload() (SIGHUP) applies an edit at once, without waiting for the poll', async () => {
    const path = join(dir, 'hup.yaml');
    await writeFile(path, rulesText({ match: 'b/**', get_ttl: '1h' }));
    const { log, entries } = capturingLogger();
    // An interval far beyond the test's length: only reload() can apply the edit.
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: 3_600_000 });
    try {
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: '3h' }));
      await file.reload();
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 3 * 3_600_000);
      await file.reload();
      assert.deepEqual(
        entries.map((e) => e.msg),
        ['cache rules reloaded', 'cache rules unchanged'],
      );
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: 'soon' }));
      await file.reload();
      assert.equal(
        file.rules.ruleFor('b', 'k').getTtl,
        3 * 3_600_000,
        'a bad edit keeps the last good rules',
      );
      assert.equal(entries.at(-1)?.level, 'error');
    } finally {
      file.close();
    }
  });

  it('reloads good edits, keeps the last good rules through bad ones, and stops on close', async () => {
    const path = join(dir, 'rules.yaml');
    await writeFile(path, rulesText({ match: 'b/**', get_ttl: '1h' }));
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: INTERVAL });
    const errors = () => entries.filter((e) => e.level === 'error');
    const reloads = () => entries.filter((e) => e.level === 'info' && e.msg === 'cache rules reloaded');
    try {
      assert.equal(file.rules.count, 1);
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 3_600_000);

      await writeFile(path, rulesText({ match: 'b/hot/**', ram: true }, { match: 'b/**', get_ttl: '2h' }));
      await until(() => file.rules.count === 2, 'the good edit');
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 7_200_000);
      assert.deepEqual(reloads().at(-1)?.fields, { path, count: 2 });

      const good = file.rules;
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: 'soon' }));
      await until(() => errors().length === 1, 'the error for the bad edit');
      assert.equal(file.rules, good);
      assert.deepEqual(errors()[0]?.fields, {
        path,
        problems: [`${path}: rules[0].get_ttl: "soon" is not a duration (like 30s, 5m, 1h, 1d)`],
      });

      await sleep(INTERVAL * 6);
      assert.equal(errors().length, 1, 'a bad file is reported once, not on every poll');
      assert.equal(reloads().length, 1);

      await unlink(path);
      await until(() => errors().length === 2, 'the error for the deleted file');
      assert.equal(file.rules, good);
      assert.match(JSON.stringify(errors()[1]?.fields), /ENOENT/);

      await writeFile(path, rulesText({ match: 'c/**', head_ttl: '5s' }));
      await until(() => file.rules.ruleFor('c', 'k').headTtl === 5_000, 'the file written again');
      assert.equal(file.rules.count, 1);
      assert.equal(reloads().length, 2);

      file.close();
      const last = file.rules;
      await writeFile(path, rulesText({ match: 'd/**' }, { match: 'e/**' }, { match: 'f/**' }));
      await sleep(INTERVAL * 6);
      assert.equal(file.rules, last);
      assert.equal(reloads().length, 2);
    } finally {
      file.close();
    }
  });

  it('does not log when the file is rewritten unchanged', async () => {
    const path = join(dir, 'same.yaml');
    const text = rulesText({ match: 'b/**' });
    await writeFile(path, text);
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: INTERVAL });
    try {
      const rules = file.rules;
      await writeFile(path, text);
      await sleep(INTERVAL * 6);
      assert.equal(file.rules, rules);
      assert.deepEqual(entries, []);
    } finally {
      file.close();
    }
  });
});
