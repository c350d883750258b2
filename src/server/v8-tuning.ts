// V8's sizing of its old-generation collections for a process whose bytes live mostly outside the JS
// heap. Every cell a fill reads is an ArrayBuffer of its own (src/upstream/plain-http.ts, undici's
// buffers), and V8 by default starts a full mark of the JS heap each time such "external" memory grows by
// a fixed step, whatever the heap's size: a cold GiB cost 37 to 71 full marks and about half of Kura's
// CPU seconds for it (docs/operations.md, Memory). Counted within V8's global limit instead, which grows
// with what survives, external memory starts a mark several times less often. The flag exists from V8
// 13 (Node.js 24) on; Node.js 22 keeps V8's default.

import { setFlagsFromString } from 'node:v8';

/** Applied once at the start of every Kura process (the single one, a group's primary and its workers). */
export function tuneV8(nodeVersion = process.versions.node): string[] {
  const major = Number(nodeVersion.split('.')[0]);
  const flags = major >= 24 ? ['--external-memory-accounted-in-global-limit'] : [];
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
