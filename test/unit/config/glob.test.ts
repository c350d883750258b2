import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob } from '../../../src/config/glob.js';

describe('globs over bucket/key', () => {
  const cases: [string, string, boolean][] = [
    ['b/*.parquet', 'b/x.parquet', true],
    ['b/*.parquet', 'b/x/y.parquet', false],
    ['b/*.parquet', 'b/.parquet', true],
    ['b/*.parquet', 'b/x.parquet.tmp', false],
    ['b/*', 'b/x/y', false],
    ['b/**', 'b/x/y/z', true],
    ['b/**', 'bb/x', false],
    ['b/**', 'c/b/x', false],
    ['b/**.parquet', 'b/x/y.parquet', true],
    ['b/**/*.parquet', 'b/x/y.parquet', true],
    ['b/**/*.parquet', 'b/y.parquet', false],
    ['b/***', 'b/x/y', true],
    ['**', 'any/thing/at/all', true],
    ['*/logs/**', 'bucket/logs/2024/01/x.gz', true],
    ['*/logs/**', 'bucket/data/logs/x', false],
    ['b/file?.txt', 'b/file1.txt', true],
    ['b/file?.txt', 'b/file.txt', false],
    ['b/file?.txt', 'b/file12.txt', false],
    ['b/file?.txt', 'b/file/.txt', false],
    ['b/file?.txt', 'b/fileé.txt', true],
    ['b/file?.txt', 'b/file😀.txt', true],
    ['a+b/(x).txt', 'a+b/(x).txt', true],
    ['a+b/(x).txt', 'aab/(x).txt', false],
    ['a+b/(x).txt', 'a+b/x.txt', false],
    ['b/[abc].txt', 'b/[abc].txt', true],
    ['b/[abc].txt', 'b/a.txt', false],
    ['b/a.c', 'b/abc', false],
    ['b/^x$|{1}\\y', 'b/^x$|{1}\\y', true],
    ['b/x', 'b/x/y', false],
    ['b/x', 'ab/x', false],
    ['b/*', 'b/line\nbreak', true],
    ['b/**', 'b/a\n/b', true],
    ['B/**', 'b/x', false],
  ];
  for (const [glob, path, expected] of cases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
      assert.equal(compileGlob(glob).matches(path), expected);
    });
  }
});

describe('compileGlob agrees with a reference RegExp', () => {
  /** The plain translation: right, but it backtracks, so it is only fit for short inputs. */
  function reference(glob: string): RegExp {
    const source = glob
      .split(/(\*+|\?)/)
      .map((part) => {
        if (part.startsWith('*')) return part.length >= 2 ? '[\\s\\S]*' : '[^/]*';
        if (part === '?') return '[^/]';
        return part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      })
      .join('');
    return new RegExp(`^${source}$`, 'u');
  }
  let seed = 42;
  /** mulberry32: a fixed seed, so a failure reproduces. */
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const pick = (parts: readonly string[], max: number): string =>
    Array.from({ length: random(max + 1) }, () => parts[random(parts.length)]).join('');

  it('on 20000 random globs and paths', () => {
    const mismatches: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const glob = pick(['a', 'b', '/', '*', '**', '?', '.'], 7);
      const path = pick(['a', 'b', '/', '.', 'é'], 9);
      const expected = reference(glob).test(path);
      if (compileGlob(glob).matches(path) !== expected) mismatches.push(`${glob} ${path} ${expected}`);
    }
    assert.deepEqual(mismatches.slice(0, 10), []);
  });
});

describe('compileGlob cost', () => {
  it('is fast on long keys, whatever the glob', () => {
    // A backtracking RegExp takes seconds on these; the automaton is linear in the key.
    const globs = ['b/**a**a**a**b', 'b/*a*a*a*b', 'b/**/*.parquet', 'b/**?/?**/?'].map(compileGlob);
    const keys = ['a'.repeat(1024), 'x/'.repeat(512), `${'x/'.repeat(500)}y.parquet`, `${'a/'.repeat(500)}a`];
    const started = performance.now();
    for (let i = 0; i < 100; i += 1) {
      for (const glob of globs) for (const key of keys) glob.matches(`b/${key}`);
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    assert.ok(globs[0]?.matches(`b/${'a'.repeat(1000)}b`));
    assert.ok(globs[2]?.matches(`b/${'x/'.repeat(500)}y.parquet`));
  });
});
