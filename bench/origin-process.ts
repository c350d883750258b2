// The verifying in-memory S3 origin (test/support/memory-origin.ts) in a process of its own, so that its
// CPU is measured apart and it does not share an event loop with the load generator. The harness drives
// it over the IPC channel: store objects, read and reset its counters.
//
//   fork(dist/bench/origin-process.js, [JSON MemoryOriginOptions])   sends {type: 'ready', url} first

import { readFile } from 'node:fs/promises';
import { type MemoryOriginOptions, startMemoryOrigin } from '../test/support/memory-origin.js';
import { BUCKET, objectBytes } from './data.js';

export type OriginRequest =
  | { type: 'put'; key: string; size: number }
  | { type: 'put-file'; key: string; path: string }
  | { type: 'delete'; key: string }
  | { type: 'stats' };
export type OriginCommand = OriginRequest & { id: number };

/** Requests answered and body bytes sent since the last 'stats' command. */
export interface OriginStats {
  requests: number;
  bodyBytes: number;
  /** Requests whose signature did not verify, or that met no object (404) or an error status. */
  failures: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as MemoryOriginOptions;
const origin = await startMemoryOrigin({ ...options, buckets: [BUCKET] });
const totals: OriginStats = { requests: 0, bodyBytes: 0, failures: 0 };

/** Folds finished log entries into the totals and drops them: a long run must not grow the log. */
function fold(): void {
  let kept = 0;
  for (const entry of origin.requests) {
    if (entry.status === 0 && entry.verdict === 'ok') {
      origin.requests[kept++] = entry; // still in flight
      continue;
    }
    totals.requests += 1;
    totals.bodyBytes += entry.bodyBytesSent;
    if (entry.verdict !== 'ok' || entry.status >= 400 || entry.status === 0) totals.failures += 1;
  }
  origin.requests.length = kept;
}
const folding = setInterval(fold, 500);

process.on('message', async (msg: OriginCommand) => {
  let result: unknown = null;
  switch (msg.type) {
    case 'put':
      origin.put(BUCKET, msg.key, objectBytes(msg.key, msg.size));
      break;
    case 'put-file':
      origin.put(BUCKET, msg.key, await readFile(msg.path));
      break;
    case 'delete':
      origin.delete(BUCKET, msg.key);
      break;
    case 'stats':
      fold();
      result = { ...totals };
      totals.requests = 0;
      totals.bodyBytes = 0;
      totals.failures = 0;
      break;
  }
  process.send?.({ id: msg.id, result });
});
process.on('disconnect', () => {
  clearInterval(folding);
  void origin.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready', url: origin.url });
