// V8's sizing of its old-generation collections, and its pretenuring (docs/operations.md, Memory).
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
//
// Pretenuring: V8 allocates the objects of an allocation site straight in the old generation once enough
// of them survived a scavenge. Under load, sites whose objects live as long as a request can tip that
// way; the request's other objects, young and referenced from the pretenured ones, then outlive their
// scavenges too and are promoted (parsed queries, node:http's messages, the handler's closures), which
// keeps the survival high. `--trace-deopt` names one such site: node:events' `removeListener` gives an
// emitter a new listener table when its last listener goes, and the table it drops, pretenured, still
// points at that listener, often a closure of a request. With 64 clients reading 64 KiB objects, about
// half the runs fell into that state: 5.7 KB promoted per request against 0.12, 9-10% of the young
// generation surviving each scavenge against 1-3, and 14 full collections in 8 s against 1. Six alternated runs from the volume:
// peak RSS 170-180 MiB with pretenuring (all six in that state), 129-131 without, and 76-90 µs of CPU
// per request against 82-100. From RAM, three: 179-184 MiB against 134-137. The price is at lower
// concurrency, where no run fell into it: 64 KiB hits from RAM at 16 clients cost 3.5 µs more each
// (6 alternated runs, 5% fewer requests per second); 4 KiB ones, 2% fewer (8 runs, within the noise).

import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times what survived the last full collection. */
const HEAP_GROWING_PERCENT = 150;

const GROWING_FLAG = '--heap-growing-percent';
const PRETENURING_FLAG = 'allocation-site-pretenuring';

/**
 * Applied once at the start of every Kura process (the single one, a group's primary and its workers,
 * which inherit node's arguments). A growing factor or a pretenuring flag given in node's arguments is
 * kept as given.
 */
export function tuneV8(nodeVersion = process.versions.node, nodeArgs = process.execArgv): string[] {
  const major = Number(nodeVersion.split('.')[0]);
  const growingGiven = nodeArgs.some((a) => a === GROWING_FLAG || a.startsWith(`${GROWING_FLAG}=`));
  const pretenuringGiven = nodeArgs.some(
    (a) => a === `--${PRETENURING_FLAG}` || a === `--no-${PRETENURING_FLAG}`,
  );
  const flags = [
    ...(major >= 24 ? ['--external-memory-accounted-in-global-limit'] : []),
    ...(growingGiven ? [] : [`${GROWING_FLAG}=${HEAP_GROWING_PERCENT}`]),
    ...(pretenuringGiven ? [] : [`--no-${PRETENURING_FLAG}`]),
  ];
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
