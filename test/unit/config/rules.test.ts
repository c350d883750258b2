import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CompiledRules, parseRules } from '../../../src/config/rules.js';
import { DEFAULT_RULE, DEFAULTS, rulesText } from '../../support/rules.js';

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
    hit_auth: s3
    list_ttl: 5m
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
      hitAuth: 's3',
      listTtl: 300_000,
    });
    assert.deepEqual(rules.ruleFor('c', 'special/x'), DEFAULT_RULE);
  });

  it('uses the defaults it is given', () => {
    const parsed = parseRules(rulesText({ match: 'b/**' }), 'r', {
      getTtl: 1,
      headTtl: 2,
      staleIfError: 3,
      listTtl: 4,
      hitAuth: 'any',
    });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.rules.ruleFor('b', 'k'), {
      ...DEFAULT_RULE,
      match: 'b/**',
      getTtl: 1,
      headTtl: 2,
      staleIfError: 3,
      listTtl: 4,
      hitAuth: 'any',
    });
    assert.deepEqual(parsed.rules.ruleFor('x', 'k'), {
      ...DEFAULT_RULE,
      getTtl: 1,
      headTtl: 2,
      staleIfError: 3,
      listTtl: 4,
      hitAuth: 'any',
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
      'an unknown hit authorization level',
      rulesText({ match: 'a/**', hit_auth: 'signed-only' }),
      ['rules.yaml: rules[0].hit_auth: "signed-only" is not one of any, signed, s3'],
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
        'rules.yaml: rules[0]: unknown field "pattern" (allowed: match, get_ttl, head_ttl, read, compress, ram, write_cache, stale_if_error, hit_auth, list_ttl)',
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
