// package-lock.json must serve both `npm ci` on a fresh clone and `npm install` without changing it.
// npm 11 checks that every optional dependency, for every platform, has an entry in the lock; for a
// platform package the registry does not have (nodejs-polars 0.26.1 names five never published), an
// entry with the version, `os` and `cpu` and no integrity satisfies that check, is skipped on the other
// platforms, and is kept by `npm install` (docs/testing.md, The lock file).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

interface LockEntry {
  version?: string;
  integrity?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  link?: boolean;
  optionalDependencies?: Record<string, string>;
}

const root = new URL('../../../', import.meta.url);
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};

/** Where Node's resolution finds `name` from the package at `from` (a lock location), as npm places it. */
function resolve(from: string, name: string): string | null {
  let dir = from;
  for (;;) {
    const at = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[at]) return at;
    if (dir === '') return null;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

describe('package-lock.json', () => {
  it('is a version 3 lock', () => {
    assert.equal(lock.lockfileVersion, 3);
  });

  it('has an entry for every optional dependency of every package, at the version named', () => {
    const missing: string[] = [];
    for (const [at, entry] of Object.entries(lock.packages)) {
      for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
        const found = resolve(at, name);
        const version = found === null ? undefined : lock.packages[found]?.version;
        // Exact versions are what these packages pin; a range is only checked for presence.
        if (found === null || (/^\d+\.\d+\.\d+$/.test(spec) && version !== spec)) {
          missing.push(`${at || '(root)'} → ${name}@${spec}: ${found === null ? 'no entry' : `${version}`}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  for (const pkg of ['nodejs-polars', '@biomejs/biome']) {
    it(`records ${pkg}'s optional dependencies as its package.json names them`, () => {
      const installed = JSON.parse(
        readFileSync(new URL(`node_modules/${pkg}/package.json`, root), 'utf8'),
      ) as LockEntry;
      const declared = installed.optionalDependencies ?? {};
      assert.ok(Object.keys(declared).length > 0, `${pkg} names its platform packages`);
      assert.deepEqual(lock.packages[`node_modules/${pkg}`]?.optionalDependencies, declared);
      for (const [name, version] of Object.entries(declared)) {
        assert.equal(lock.packages[`node_modules/${name}`]?.version, version, name);
      }
    });
  }

  it('has an integrity for every entry but optional platform packages, which name their os and cpu', () => {
    const bad = Object.entries(lock.packages)
      .filter(([at, e]) => at !== '' && !e.link && !e.integrity)
      .filter(([, e]) => !(e.optional && e.version && e.os?.length && e.cpu?.length))
      .map(([at]) => at);
    assert.deepEqual(bad, []);
  });
});
