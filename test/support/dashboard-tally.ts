// What a dashboard should count for known traffic, tallied from the answers a client got and from what
// the in-memory origin sent: the figures the dashboard tests compare with /dashboard/data and the page.

import { sdkClient, sdkGet } from './cache-client.js';
import type { MemoryOrigin } from './memory-origin.js';

export interface Figures {
  requests: number;
  /** Answers with an X-Cache value. */
  cacheable: number;
  /** Answers HIT or REVALIDATED. */
  fromCache: number;
  /** Body bytes of the answers from cache. */
  bytesFromCache: number;
  /** Object bytes the origin sent (its error documents are not counted). */
  bytesFromS3: number;
  /** By the dashboard's kinds: `responses.5xx`, `responses.4xx`, `origin.http_5xx`. */
  errors: Record<string, number>;
}

/** GETs `keys` of `bucket` in order through the Kura at `url`; nothing else may use `origin` meanwhile. */
export async function readAndTally(
  url: string,
  origin: MemoryOrigin,
  bucket: string,
  keys: string[],
): Promise<Figures> {
  const client = sdkClient(url);
  const fromOrigin = origin.requests.length;
  const f: Figures = {
    requests: 0,
    cacheable: 0,
    fromCache: 0,
    bytesFromCache: 0,
    bytesFromS3: 0,
    errors: {},
  };
  const count = (kind: string) => {
    f.errors[kind] = (f.errors[kind] ?? 0) + 1;
  };
  for (const key of keys) {
    const r = await sdkGet(client, bucket, key);
    f.requests += 1;
    if (r.xCache !== undefined) f.cacheable += 1;
    if (r.xCache === 'HIT' || r.xCache === 'REVALIDATED') {
      f.fromCache += 1;
      f.bytesFromCache += r.body.length;
    }
    if (r.status >= 500) count('responses.5xx');
    else if (r.status >= 400) count('responses.4xx');
  }
  for (const q of origin.requests.slice(fromOrigin)) {
    if (q.status < 300) f.bytesFromS3 += q.bodyBytesSent;
    if (q.status >= 500) count('origin.http_5xx');
  }
  return f;
}

/** The errors a dashboard adds up as "errors": all kinds but the clients' own (4xx). */
export function errorCount(f: Figures): number {
  return Object.entries(f.errors)
    .filter(([kind]) => kind !== 'responses.4xx')
    .reduce((n, [, v]) => n + v, 0);
}
