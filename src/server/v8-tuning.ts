// V8's sizing of its old-generation collections (docs/operations.md, Memory).
//
// External memory: every cell a fill reads is an ArrayBuffer of its own (src/upstream/plain-http.ts,
// undici's buffers), and V8 by default starts a full mark of the JS heap each time such memory grows by a
// fixed step, whatever the heap's size: a cold GiB cost 37 to 71 full marks and about half of Kura's CPU
// seconds for it. Counted within V8's global limit instead, which grows with what survives, external
// memory starts a mark several times less often. The flag exists from V8 13 (Node.js 24) on; Node.js 22
// keeps V8's default.
//
// The growing factor: after a full collection V8 lets the old generation grow to a multiple of what
// survived before the next one, up to 4 when memory is plentiful. A request that waits on the disk under
// load outlives two scavenges and reaches the old generation as garbage; with 64 clients reading from the
// volume the heap went from 26 MiB live to 90-100 MiB between collections, and the process peaked at
// 207-214 MiB. Two and a half times what survives kept it at 170-177 MiB (twice: 159-165). The price is
// in the tail, not in CPU: more full collections, whose pauses (3-7 ms) more requests meet; the p99 of
// 4 KiB hits from RAM at 16 connections went from 3.6-4.5 ms to 5.2-6.8 (twice: 7.0-8.6).

import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times what survived the last full collection. */
const HEAP_GROWING_PERCENT = 150;

const GROWING_FLAG = '--heap-growing-percent';

/**
 * Applied once at the start of every Kura process (the single one, a group's primary and its workers,
 * which inherit node's arguments). A growing factor given in node's arguments is kept as given.
 */
export function tuneV8(nodeVersion = process.versions.node, nodeArgs = process.execArgv): string[] {
  const major = Number(nodeVersion.split('.')[0]);
  const growingGiven = nodeArgs.some((a) => a === GROWING_FLAG || a.startsWith(`${GROWING_FLAG}=`));
  const flags = [
    ...(major >= 24 ? ['--external-memory-accounted-in-global-limit'] : []),
    ...(growingGiven ? [] : [`${GROWING_FLAG}=${HEAP_GROWING_PERCENT}`]),
  ];
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
