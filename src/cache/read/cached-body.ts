// Serving a byte range of one version from its chunks: plan which cells are on the volume, in RAM, or
// on their way from another request; then stream them in order, fetching from S3 whatever is missing.

import type { ServerResponse } from 'node:http';
import { headerValue } from '../../s3/headers.js';
import { heldCells } from '../../store/held-cells.js';
import type { Extent } from '../../store/types.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { ChunkSink } from '../chunk-sink.js';
import { askS3, discard } from '../exchange/origin-fetch.js';
import type { BodyJob, Plan, Slice } from './body-job.js';
import { dropFetch, fetchRun, type Run, type RunFetch, runFrom } from './cell-runs.js';
import { cachedSlice, cellLength, inRam, ramSlice } from './cell-slices.js';
import { cellsLeasedElsewhere } from './fetch-lease.js';
import { parseContentRange } from './record-headers.js';

/**
 * Cached bytes read before the response head is sent, so that a chunk found damaged among them (a miss,
 * fetched from S3) makes the answer PARTIAL rather than a HIT that S3 had to complete. At least one cell,
 * the one sent first anyway; memory per request stays a few chunks (docs/architecture.md, rule 5).
 */
const READ_AHEAD_BYTES = 4 * 2 ** 20;
/** Small chunks: the reads run at once, and a request must not fill the file system's thread pool. */
const READ_AHEAD_CELLS = 16;
/**
 * Once the head is sent, cached cells read ahead of the one being sent: the disk works while the client
 * receives, at a cost of this many cells of memory per answer.
 */
const STREAM_AHEAD_CELLS = 2;

/** The plan of bytes `start..end`: made at once when every cell is in RAM (or on its way), else a promise. */
export function planRange(job: BodyJob, start: number, end: number): Plan | Promise<Plan> {
  const cs = job.cache.volume.chunkSize;
  const first = Math.floor(start / cs);
  const last = Math.floor(end / cs);
  const cells: Plan['cells'] = [];
  const window = readAheadCells(cs);
  /** Cells of the read-ahead that are neither in RAM nor on their way: read from the volume below. */
  const toRead: Plan['cells'] = [];
  const past: Plan['cells'] = [];
  // A cell in RAM is planned without a promise: a hit from RAM, most hits, awaits nothing here.
  for (let index = first; index <= last; index++) {
    const cell: Plan['cells'][number] = { index, state: 'missing' };
    cells.push(cell);
    const { from, to } = cellSpan(job, index, start, end);
    const id = job.versionName.cell(index);
    const ahead = index - first < window;
    if (ahead) {
      const slice = ramSlice(job, id, index, from, to);
      if (slice !== null) {
        cell.state = 'cached';
        cell.read = slice;
        continue;
      }
    } else if (inRam(job, id, from, to)) {
      cell.state = 'cached';
      continue;
    }
    if (job.cache.inflight.chunkWritten(id)) cell.state = 'pending';
    else if (ahead) toRead.push(cell);
    else past.push(cell);
  }
  const plan = { start, end, cells };
  // Every cell in RAM or on its way: nothing to read, nothing missing.
  if (toRead.length === 0 && past.length === 0) return plan;
  return readPlan(job, plan, toRead, past);
}

/** The rest of `planRange`: reads the cells of the read-ahead from the volume, probes those past it. */
async function readPlan(job: BodyJob, plan: Plan, toRead: Plan['cells'], past: Plan['cells']): Promise<Plan> {
  const { start, end, cells } = plan;
  if (toRead.length > 0) {
    await Promise.all(
      toRead.map(async (cell) => {
        // Read ahead anyway: reading the file answers whether it is there, without a stat before it.
        const { from, to } = cellSpan(job, cell.index, start, end);
        const slice = await cachedSlice(job, cell.index, from, to, false);
        if (slice === null) return;
        cell.state = 'cached';
        cell.read = slice;
      }),
    );
  }
  // Cells past the read-ahead are only looked for; streaming reads them (`streamCells`).
  if (past.length > 0) await probePast(job, past, start, end);
  const missing = cells.filter((c) => c.state === 'missing');
  if (missing.length > 0) {
    const leased = await cellsLeasedElsewhere(
      job.cache,
      job.version,
      missing.map((c) => c.index),
    );
    // A fill commits its cells before it lets go of its lease: a cell found missing above and leased by
    // nobody now may have been committed in between. A second look costs a stat; fetching it again
    // costs S3 the cell (a herd on a busy host did that, every reader planning as a fill ended).
    await Promise.all(
      missing.map(async (cell) => {
        if (leased.has(cell.index)) cell.state = 'leased';
        else if (await onVolume(job, cell.index, start, end)) cell.state = 'cached';
      }),
    );
  }
  return plan;
}

/**
 * Whether the volume holds the cells planned past the read-ahead: a stat each, or one listing of the
 * version's directory (src/store/held-cells.ts) when they are more than LISTING_PAYS_AT of the version's
 * cells (a whole read of a large object), since a listing costs a name for every cell the version has.
 */
async function probePast(job: BodyJob, cells: Plan['cells'], start: number, end: number): Promise<void> {
  const cs = job.cache.volume.chunkSize;
  if (cells.length * LISTING_PAYS_AT < Math.ceil(job.record.size / cs)) {
    await Promise.all(
      cells.map(async (cell) => {
        cell.state = (await onVolume(job, cell.index, start, end)) ? 'cached' : 'missing';
      }),
    );
    return;
  }
  const { cache, version, record } = job;
  const asked = cells.map((c) => ({ index: c.index, length: cellLength(record, cs, c.index) }));
  const held = await heldCells(cache.volume, cache.chunks, version, asked);
  for (const cell of cells) {
    cell.state = covers(held.get(cell.index) ?? [], cellSpan(job, cell.index, start, end))
      ? 'cached'
      : 'missing';
  }
}

/** A listing of a version's directory pays for itself once more than one cell in this many is probed. */
const LISTING_PAYS_AT = 8;

/** Whether the volume holds the bytes of `start..end` that fall in cell `index`. */
async function onVolume(job: BodyJob, index: number, start: number, end: number): Promise<boolean> {
  const length = cellLength(job.record, job.cache.volume.chunkSize, index);
  return covers(await job.cache.chunks.probe(job.version, index, length), cellSpan(job, index, start, end));
}

/** The part of `start..end` in cell `index`, cell-relative and half-open. */
function cellSpan(job: BodyJob, index: number, start: number, end: number): { from: number; to: number } {
  const cs = job.cache.volume.chunkSize;
  const cellStart = index * cs;
  const from = Math.max(start, cellStart) - cellStart;
  const to = Math.min(end + 1, cellStart + cellLength(job.record, cs, index)) - cellStart;
  return { from, to };
}

function covers(extents: readonly Extent[], span: { from: number; to: number }): boolean {
  return extents.some((e) => e.start <= span.from && e.end >= span.to);
}

/** How many cells a plan reads before the head is sent: READ_AHEAD_BYTES, at least one cell. */
function readAheadCells(chunkSize: number): number {
  return Math.max(1, Math.min(READ_AHEAD_CELLS, Math.floor(READ_AHEAD_BYTES / chunkSize)));
}

export function missingCells(plan: Plan): number {
  return plan.cells.filter((c) => c.state === 'missing').length;
}

/**
 * Streams bytes `plan.start..plan.end` to the client; the response head is already sent. `first` is a
 * fetch already made for the first missing run (made before the head, so a 412 could still change the
 * answer). Throws when the answer cannot be completed: the caller cuts the connection.
 */
export async function streamPlan(
  job: BodyJob,
  plan: Plan,
  prefetched: { run: Run; fetched: RunFetch } | null,
) {
  let first = prefetched;
  try {
    await streamCells(job, plan, () => {
      const taken = first;
      first = null;
      return taken;
    });
  } finally {
    // Not reached (a failure, or an earlier run covered it): its body must still be let go.
    if (first) dropFetch(first.fetched);
  }
}

async function streamCells(
  job: BodyJob,
  plan: Plan,
  takeFirst: () => { run: Run; fetched: RunFetch } | null,
) {
  const { cache, ex } = job;
  const cs = cache.volume.chunkSize;
  /** Cell `j`'s bytes the answer needs (cell-relative, half-open), read from RAM or the volume. */
  const sliceAt = (j: number) => {
    const cell = plan.cells[j] as Plan['cells'][number];
    const { from, to } = cellSpan(job, cell.index, plan.start, plan.end);
    return cachedSlice(job, cell.index, from, to, cell.state === 'leased');
  };
  // Past the cells read before the head, the next cached cells are read while the current one is sent.
  // A cell read already, or sent without waiting for the socket, is not awaited: most answers are one
  // cell, read while planning, and each await is a turn of the microtask queue.
  let ahead: Map<number, Promise<Slice | null>> | null = null;
  let pos = plan.start;
  let i = 0;
  while (pos <= plan.end) {
    const cell = plan.cells[i] as Plan['cells'][number];
    const cellStart = cell.index * cs;
    const upto = Math.min(plan.end, cellStart + cellLength(job.record, cs, cell.index) - 1);
    if (cell.state !== 'missing') {
      const reading = cell.read !== undefined ? cell.read : (ahead?.get(i) ?? sliceAt(i));
      cell.read = undefined;
      ahead?.delete(i);
      for (let j = i + 1; j <= i + STREAM_AHEAD_CELLS && j < plan.cells.length; j++) {
        const next = plan.cells[j] as Plan['cells'][number];
        ahead ??= new Map();
        if (next.read === undefined && next.state === 'cached' && !ahead.has(j)) ahead.set(j, sliceAt(j));
      }
      const slice = reading instanceof Promise ? await reading : reading;
      if (slice) {
        const bytes = slice.bytes;
        const sending = send(ex.res, bytes, () => cache.cellPool.release(bytes));
        if (sending !== undefined) await sending;
        if (slice.ram) cache.stats.bytesFromRam += slice.bytes.length;
        else cache.stats.bytesFromDisk += slice.bytes.length;
        pos = upto + 1;
        i += 1;
        continue;
      }
      cell.state = 'missing';
    }
    if (!job.flexible) {
      await forwardRest(job, pos, plan.end);
      return;
    }
    const first = takeFirst();
    if (first && first.run.first !== cell.index) dropFetch(first.fetched);
    const run = first?.run.first === cell.index ? first.run : runFrom(plan, i, cs, cache.mergeGap);
    const fetched = first?.run.first === cell.index ? first.fetched : await fetchRun(job, run);
    if (fetched.kind !== 'ok') {
      if (fetched.kind === 'answer') discard(fetched.res);
      if (fetched.kind === 'changed') await cache.forget(job.version);
      throw new Error(`fetching missing bytes: ${fetched.kind}`);
    }
    const stop = Math.min(plan.end, fetched.end);
    try {
      await pump(job, fetched.res, fetched.start, pos, stop);
    } finally {
      void fetched.lease.release();
    }
    pos = stop + 1;
    while (i < plan.cells.length && (plan.cells[i] as { index: number }).index <= run.last) i += 1;
  }
}

/** A byte went missing after the head was sent, and the Range is signed: the client's own request again. */
async function forwardRest(job: BodyJob, pos: number, end: number): Promise<void> {
  const asked = await askS3(job.ex, job.opts, job.mayAddConditionals ? { ifMatch: job.record.etag } : {});
  if (!asked.ok) throw new Error(`refetching: ${asked.error?.code ?? 'client gone'}`);
  const res = asked.res;
  const cr = parseContentRange(headerValue(res.headers, 'content-range'));
  const bodyStart = res.status === 206 && cr ? cr.start : 0;
  const sameVersion = headerValue(res.headers, 'etag') === job.record.etag;
  if ((res.status !== 200 && res.status !== 206) || !sameVersion || bodyStart > pos) {
    discard(res);
    if (res.status === 412 || !sameVersion) await job.cache.forget(job.version);
    throw new Error(`refetching: S3 answered ${res.status}`);
  }
  await pump(job, res, bodyStart, pos, end);
}

/**
 * Reads an S3 body that starts at object offset `bodyStart`: every byte goes to the chunk sink, and bytes
 * `from..to` also to the client. Stops reading once the client has its bytes and the body ends.
 */
async function pump(job: BodyJob, res: UpstreamResponse, bodyStart: number, from: number, to: number) {
  const { cache } = job;
  const length = Number(headerValue(res.headers, 'content-length') ?? Number.NaN);
  const sink = new ChunkSink(
    cache.sinkTarget(job.version, job.versionName.id, job.record),
    bodyStart,
    length,
  );
  let offset = bodyStart;
  let complete = false;
  try {
    for await (const data of res.body as AsyncIterable<Buffer>) {
      sink.write(data);
      const a = Math.max(from, offset);
      const b = Math.min(to + 1, offset + data.length);
      const view = b > a ? data.subarray(a - offset, b - offset) : null;
      if (view) cache.cellPool.hold(view);
      // Every holder of the buffer has its own hold by now: the reader's goes (src/upstream/plain-http.ts).
      cache.cellPool.releaseAtEnd(data);
      if (view) {
        await write(job.ex.res, view, () => cache.cellPool.release(view));
        cache.stats.bytesFromOrigin += b - a;
      }
      offset += data.length;
    }
    complete = offset - bodyStart === length;
    if (offset <= to) throw new Error('S3 ended the body early');
  } finally {
    await sink.finish(complete);
  }
}

/**
 * Writes with back-pressure; rejects when the client has gone. `sent` runs once the socket has taken the
 * bytes (never when the write fails: the buffer may still be in use then).
 */
export function write(res: ServerResponse, data: Buffer, sent?: () => void): Promise<void> {
  return send(res, data, sent) ?? Promise.resolve();
}

/** As `write`, but nothing to wait for (undefined) when the socket took the bytes without filling up. */
function send(res: ServerResponse, data: Buffer, sent?: () => void): Promise<void> | undefined {
  if (res.destroyed) return Promise.reject(new Error('the client closed the connection'));
  const done = sent && ((err?: Error | null) => (err ? undefined : sent()));
  if (res.write(data, done)) return undefined;
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new Error('the client closed the connection'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
