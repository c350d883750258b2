// Runs of cells a plan lacks, fetched from S3 with one ranged request each: `Range` on the chunk grid
// and `If-Match` on the record's ETag, announced to other instances with a fetch lease.

import { headerValue } from '../../s3/headers.js';
import type { S3ErrorSpec } from '../../s3/types.js';
import type { FetchLease } from '../../store/leases.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { askS3, discard } from '../exchange/origin-fetch.js';
import type { BodyJob, Plan } from './body-job.js';
import { announceFetch } from './fetch-lease.js';
import { parseContentRange } from './record-headers.js';

/** A run of cells to fetch with one ranged request: from `first` to `last`, inclusive. */
export interface Run {
  first: number;
  last: number;
}

/** Missing cells from position `i` on, merged across cached gaps smaller than the merge gap. */
export function runFrom(plan: Plan, i: number, chunkSize: number, mergeGap: number): Run {
  const cells = plan.cells;
  const first = (cells[i] as { index: number }).index;
  let last = first;
  let gap = 0;
  for (let j = i + 1; j < cells.length; j++) {
    const cell = cells[j] as Plan['cells'][number];
    if (cell.state === 'missing') {
      if (gap > 0 && gap > mergeGap) break;
      last = cell.index;
      gap = 0;
    } else {
      gap += chunkSize;
      if (gap > mergeGap) break;
    }
  }
  return { first, last };
}

export type RunFetch =
  | { kind: 'ok'; res: UpstreamResponse; start: number; end: number; lease: FetchLease }
  | { kind: 'changed' }
  | { kind: 'answer'; res: UpstreamResponse }
  | { kind: 'failed'; error: S3ErrorSpec | null };

/** Asks S3 for a run of cells of this version: `Range` on the grid and `If-Match` on the ETag. */
export async function fetchRun(job: BodyJob, run: Run): Promise<RunFetch> {
  const cs = job.cache.volume.chunkSize;
  const start = run.first * cs;
  const end = Math.min((run.last + 1) * cs, job.record.size) - 1;
  const lease = await announceFetch(job.cache, job.version, run.first, run.last);
  const fetched = await fetchLeasedRun(job, start, end, lease);
  if (fetched.kind !== 'ok') void lease.release();
  return fetched;
}

async function fetchLeasedRun(
  job: BodyJob,
  start: number,
  end: number,
  lease: FetchLease,
): Promise<RunFetch> {
  const asked = await askS3(job.ex, job.opts, { range: `bytes=${start}-${end}`, ifMatch: job.record.etag });
  if (!asked.ok) return { kind: 'failed', error: asked.error };
  const res = asked.res;
  if (res.status === 412) {
    discard(res);
    return { kind: 'changed' };
  }
  const cr = parseContentRange(headerValue(res.headers, 'content-range'));
  const exact = res.status === 206 && cr !== null && cr.start === start && cr.end === end;
  if (exact && cr.size === job.record.size && headerValue(res.headers, 'etag') === job.record.etag) {
    return { kind: 'ok', res, start, end, lease };
  }
  if (res.status === 206 || res.status === 200) {
    // S3 answered other bytes than asked for: the object is not the one the record describes.
    discard(res);
    return { kind: 'changed' };
  }
  return { kind: 'answer', res };
}

/** A fetch that will not be read: its body is let go and its lease released. */
export function dropFetch(fetched: RunFetch): void {
  if (fetched.kind === 'ok') {
    discard(fetched.res);
    void fetched.lease.release();
  } else if (fetched.kind === 'answer') {
    discard(fetched.res);
  }
}
