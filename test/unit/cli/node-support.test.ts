import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  nodeSatisfies,
  primaryNodeLine,
  supportedNodeRange,
  unsupportedNodeMessage,
} from '../../../src/cli/node-support.js';

const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
  devDependencies: Record<string, string>;
};

describe('nodeSatisfies', () => {
  const range = '^22.19.0 || ^24.0.0 || >=26.0.0';
  const cases: [string, boolean][] = [
    ['20.20.2', false],
    ['v20.20.2', false],
    ['22.18.9', false],
    ['22.19.0', true],
    ['22.23.3', true],
    ['23.11.0', false],
    ['24.0.0', true],
    ['24.21.0', true],
    ['25.9.0', false],
    ['26.0.0', true],
    ['26.10.0', true],
    ['27.0.0-pre', true],
    ['not a version', false],
  ];
  for (const [version, ok] of cases) {
    it(`${version} ${ok ? 'is' : 'is not'} in ${range}`, () =>
      assert.equal(nodeSatisfies(version, range), ok));
  }

  it('refuses a range form it does not read, rather than guessing', () => {
    assert.throws(() => nodeSatisfies('26.0.0', '22 - 26'), /engines\.node: cannot read "22 - 26"/);
    assert.throws(() => nodeSatisfies('26.0.0', '^22.19.0 || ~24.1.0'), /cannot read "~24\.1\.0"/);
  });
});

describe("package.json's Node.js range", () => {
  it('reads, and leaves out the lines past their end of life', () => {
    const range = supportedNodeRange();
    for (const v of ['20.20.2', '21.7.3', '23.11.1', '25.9.0'])
      assert.equal(nodeSatisfies(v, range), false, v);
  });

  it("holds the primary line's pinned binary (the `node` dev dependency), the newest line it names", () => {
    const range = supportedNodeRange();
    const pinned = pkg.devDependencies.node as string;
    assert.match(pinned, /^\d+\.\d+\.\d+$/);
    assert.equal(nodeSatisfies(pinned, range), true);
    const lines = [...range.matchAll(/(\d+)\.\d+\.\d+/g)].map((m) => Number(m[1]));
    assert.equal(primaryNodeLine(), Math.max(...lines));
    assert.equal(Number.parseInt(pinned, 10), primaryNodeLine());
  });

  it('is what scripts/test-node-lines.sh tests: one release of each line besides the primary one', () => {
    const script = readFileSync(new URL('../../../../scripts/test-node-lines.sh', import.meta.url), 'utf8');
    const versions = /^lines=\(([^)]*)\)$/m.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    const range = supportedNodeRange();
    for (const v of versions) assert.equal(nodeSatisfies(v, range), true, v);
    const lines = [...range.matchAll(/(\d+)\.\d+\.\d+/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      versions.map((v) => Number.parseInt(v, 10)),
      lines.filter((l) => l !== primaryNodeLine()),
    );
  });

  it('holds the Node.js running these tests, which is also the `node` their child processes find on PATH', () => {
    assert.equal(nodeSatisfies(process.versions.node, supportedNodeRange()), true, process.version);
    const childs = execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    assert.equal(childs, process.version);
  });
});

describe('unsupportedNodeMessage', () => {
  it('is null on a supported Node', () => {
    assert.equal(unsupportedNodeMessage('26.10.0'), null);
  });

  it('names the version, the supported range and where to get a supported Node', () => {
    const msg = unsupportedNodeMessage('20.20.2') ?? '';
    assert.match(msg, /^kura: Node\.js v20\.20\.2 is not supported; /);
    assert.ok(msg.includes(`Kura runs on Node.js ${supportedNodeRange()}.`), msg);
    assert.ok(msg.includes(`npx node@${primaryNodeLine()} bin/kura.js`), msg);
    assert.ok(msg.includes('`npm install`'), msg);
  });
});
