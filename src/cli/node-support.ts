// Which Node.js versions Kura runs on. The range is package.json's `engines.node`, stated there once;
// bin/kura.js checks it before it loads anything else, because on an older Node undici and OpenTelemetry
// fail while loading, with errors that do not say why. This module imports node:fs only, so that it
// loads on any Node that can run ES modules.

import { readFileSync } from 'node:fs';

type Triple = [number, number, number];

interface PackageJson {
  engines: { node: string };
  devDependencies: { node: string };
}

function packageJson(): PackageJson {
  return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as PackageJson;
}

/** package.json's `engines.node`, e.g. `^22.19.0 || ^24.0.0 || >=26.0.0`. */
export function supportedNodeRange(): string {
  return packageJson().engines.node;
}

/**
 * The primary line, the newest LTS: the major of the `node` package (the official binaries on npm) that
 * package.json lists among its dev dependencies, so that `npm start` and `npm test` run on it.
 */
export function primaryNodeLine(): number {
  return Number.parseInt(packageJson().devDependencies.node, 10);
}

function triple(version: string): Triple | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function atLeast(v: Triple, min: Triple): boolean {
  for (let i = 0; i < 3; i++) {
    if ((v[i] as number) !== (min[i] as number)) return (v[i] as number) > (min[i] as number);
  }
  return true;
}

/**
 * Whether `version` is in `range`: clauses joined by `||`, each `^X.Y.Z` (that major line, from X.Y.Z)
 * or `>=X.Y.Z`, the only forms package.json uses; any other form is an error, not a guess.
 */
export function nodeSatisfies(version: string, range: string): boolean {
  const v = triple(version);
  const clauses = range.split('||').map((clause) => {
    const m = /^\s*(\^|>=)\s*(\d+\.\d+\.\d+)\s*$/.exec(clause);
    const min = m ? triple(m[2] as string) : null;
    if (!m || !min) throw new Error(`engines.node: cannot read "${clause.trim()}" (use ^X.Y.Z or >=X.Y.Z)`);
    return { caret: m[1] === '^', min };
  });
  if (!v) return false;
  return clauses.some(({ caret, min }) => atLeast(v, min) && (!caret || v[0] === min[0]));
}

/** The refusal to print when this Node is outside the range, or null when it is in it. */
export function unsupportedNodeMessage(version: string, range: string = supportedNodeRange()): string | null {
  if (nodeSatisfies(version, range)) return null;
  const primary = primaryNodeLine();
  return (
    `kura: Node.js ${version.replace(/^v?/, 'v')} is not supported; Kura runs on Node.js ${range}.\n` +
    `  Install a supported Node.js (https://nodejs.org/), or take one from npm: ` +
    `npx node@${primary} bin/kura.js …\n` +
    `  In a checkout, \`npm install\` brings Node.js ${primary} for \`npm start\` and \`npm test\`.\n`
  );
}

/** What `kura --version` says after the version: the Node.js in use and the supported range. */
export function nodeVersionLine(): string {
  return `Node.js ${process.version} (supported: ${supportedNodeRange()})`;
}
