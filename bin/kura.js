#!/usr/bin/env node
// The Node.js check comes first and the rest is imported only after it: on an unsupported Node the
// command says which versions it needs instead of failing inside a dependency (src/cli/node-support.ts).
import { unsupportedNodeMessage } from '../dist/src/cli/node-support.js';

const refusal = unsupportedNodeMessage(process.versions.node);
if (refusal) {
  process.stderr.write(refusal);
  process.exitCode = 1;
} else {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv);
}
