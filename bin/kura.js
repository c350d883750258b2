#!/usr/bin/env node
// The Node.js check comes first and the rest is imported only after it: on an unsupported Node the
// command says which versions it needs instead of failing inside a dependency (src/cli/node-support.ts).
import { unsupportedNodeMessage } from '../dist/src/cli/node-support.js';
import { youngGenerationArgs } from '../dist/src/cli/young-generation.js';

const refusal = unsupportedNodeMessage(process.versions.node);
const again = refusal ? null : youngGenerationArgs(process.argv, process.execArgv, process.env.NODE_OPTIONS);
if (refusal) {
  process.stderr.write(refusal);
  process.exitCode = 1;
} else if (again && typeof process.execve === 'function') {
  // Replaces this process (src/cli/young-generation.ts); nothing after it runs.
  process.execve(process.execPath, [process.execPath, ...again], process.env);
} else {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv);
}
