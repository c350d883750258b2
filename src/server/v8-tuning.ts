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
// 199-218 MiB. Twice what survives keeps it at 158-172 MiB, for one more full collection a second (a few
// ms each) and no CPU per request or per cold GiB that we could measure.

import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times what survived the last full collection. */
const HEAP_GROWING_PERCENT = 100;

/** Applied once at the start of every Kura process (the single one, a group's primary and its workers). */
export function tuneV8(nodeVersion = process.versions.node): string[] {
  const major = Number(nodeVersion.split('.')[0]);
  const flags = [
    ...(major >= 24 ? ['--external-memory-accounted-in-global-limit'] : []),
    `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
  ];
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
