// The size of V8's young generation for `kura serve`. V8 sizes it from the machine's memory: on Node.js
// 26 with 24 GiB, its semi-spaces grow to 32 MiB each under load, and the process's RSS with them (64
// clients reading small objects from one Kura's volume peaked at 195–201 MiB, against 136 with 8 MiB
// semi-spaces, for the same CPU per request and per cold GiB; docs/operations.md, Memory). The size can
// only be given when V8 starts, so `kura serve` runs itself again once with it, in the same process
// (execve keeps the pid), unless the operator gave one (node's arguments or NODE_OPTIONS). Workers
// inherit node's arguments. This module imports nothing, so that bin/kura.js runs it before the rest.

const FLAG = '--max-semi-space-size';
export const SEMI_SPACE_MIB = 8;

/**
 * Node's arguments to start `kura serve` again with (before the script and its arguments), or null when
 * this process runs another command or its young generation is already sized.
 */
export function youngGenerationArgs(
  argv: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] | null {
  if (argv[2] !== 'serve') return null;
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => a === FLAG || a.startsWith(`${FLAG}=`))) return null;
  return [...execArgv, `${FLAG}=${SEMI_SPACE_MIB}`, ...argv.slice(1)];
}
