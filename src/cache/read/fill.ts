// The fill state of a read: no usable record, so the client's request goes to S3 untouched; the answer
// streams to the client while its bytes are cut into chunks and its headers become (or refresh) the
// object record. The first fill of an object is coalesced, here and across the fleet (fetch-lease.ts).

import { EventEmitter } from 'node:events';
import { hasConditionals } from '../../s3/conditionals.js';
import { headerValue } from '../../s3/headers.js';
import { chooseCodec } from '../../store/compression.js';
import { keyName, versionName } from '../../store/key-names.js';
import type { FetchLease } from '../../store/leases.js';
import type { Codec, ObjectRecord } from '../../store/types.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { responseHeadersForClient } from '../../upstream/headers.js';
import { ChunkSink } from '../chunk-sink.js';
import type { Outcome } from '../exchange/exchange.js';
import { type Asked, askS3, discard, failed, relay } from '../exchange/origin-fetch.js';
import { MISS_NOT_STORED, MISS_STORED, pushXCache } from '../exchange/outcome.js';
import { sendHead } from '../exchange/reply.js';
import { settleWithin } from '../inflight.js';
import type { BodyJob } from './body-job.js';
import { announceFetch, awaitColdFillElsewhere, takeColdFillLease } from './fetch-lease.js';
import { streamFill } from './fill-stream.js';
import { isRangeHeaderSigned } from './range-request.js';
import type { ReadJob } from './read-job.js';
import { type AnswerFacts, newRecord, readAnswer, wantsChecksums } from './record-headers.js';

/** The client's request, untouched, to S3; a 200/206 answer is streamed and cached. */
export async function fill(job: ReadJob, record: ObjectRecord | null): Promise<Outcome> {
  const { cache } = job;
  const objectId = keyName(job.key);
  const finishCold = record === null ? cache.inflight.startColdFill(objectId) : null;
  if (record === null && finishCold === null) {
    // Another request began the first fetch since this one looked: its record answers this one too.
    cache.stats.coalesced += 1;
    await settleWithin(cache.inflight.coldFill(objectId) ?? Promise.resolve(), cache.waitMs);
    const recorded = await cache.records.read(job.key);
    if (recorded !== null) return job.states.fromRecord(job, recorded);
  }
  let fleetLease: FetchLease | null = null;
  let asking: Promise<Asked> | null = null;
  if (finishCold !== null) {
    // Other instances may be bringing the same object: its first fetch takes a lease on the volume, and
    // the instance that cannot have it waits for the other's record rather than fetch the object again.
    // S3 is asked while the lease is taken, not after: making the lease's file costs a round trip to a
    // file server (0.4–0.6 ms of the time to first byte on a local ext4 volume, bench/README.md). When
    // another instance holds the lease, the request is cut, before S3's first byte unless S3 answers
    // faster than a file is made.
    const cut = new EventEmitter();
    const clientGone = () => cut.emit('abort');
    job.ex.signal.once('abort', clientGone);
    asking = askS3(job.ex, job.opts, {}, null, cut);
    // The request goes out within this turn; a local volume's calls are synchronous (fs-calls.ts), and
    // would make the file first.
    await new Promise((resolve) => setImmediate(resolve));
    fleetLease = await takeColdFillLease(cache, job.key);
    if (fleetLease === null) {
      job.ex.signal.off('abort', clientGone);
      cut.emit('abort');
      const unwanted = await asking;
      if (unwanted.ok) discard(unwanted.res);
      asking = null;
      const record = await awaitColdFillElsewhere(cache, job.key);
      if (record !== null) {
        finishCold();
        return job.states.fromRecord(job, record);
      }
    }
  }
  const recordWritten = () => {
    finishCold?.();
    void fleetLease?.release();
  };
  let handedOver = false;
  try {
    const asked = await (asking ?? askS3(job.ex, job.opts));
    if (!asked.ok) return failed(job.ex, asked.error);
    handedOver = true;
    return await fillFromAnswer(job, record, asked.res, recordWritten);
  } finally {
    if (!handedOver) recordWritten();
  }
}

/** S3 answered the client's request (a fill, or a revalidation that found a new version). */
export async function fillFromAnswer(
  job: ReadJob,
  old: ObjectRecord | null,
  res: UpstreamResponse,
  /** Called once the record is written (or will not be): requests waiting for a cold fill go on. */
  recordWritten?: () => void,
): Promise<Outcome> {
  const { cache, ex } = job;
  if (res.status === 404 && old !== null) await cache.forget({ ...job.key, etag: old.etag });
  if (res.status !== 200 && res.status !== 206) {
    recordWritten?.();
    return relay(ex, res, MISS_NOT_STORED);
  }
  const facts = readAnswer(res.status, res.headers, job.method);
  if (typeof facts === 'string') {
    recordWritten?.();
    return relay(ex, res, {
      result: 'MISS',
      reason: facts === 'no-store' ? 'response-no-store' : 'cache-error',
    });
  }
  const decided = MISS_STORED;
  const contentType = headerValue(res.headers, 'content-type') ?? null;
  const contentEncoding = headerValue(res.headers, 'content-encoding') ?? null;
  const codec = await chooseCodec({
    enabled: job.rule.compress,
    key: job.key.key,
    contentType,
    contentEncoding,
    firstBytes: null,
  });
  // S3 decided this answer after the request left, and maybe long before it arrived: the record claims
  // no later confirmation than the lookup's start, so that a delete or write invalidated meanwhile (by any
  // instance) keeps it out (records.ts), and its age counts from the request (RFC 9111 §4.2.3).
  const now = job.now;
  // Announced before the record is written, so that instances that read the record wait for these
  // cells; neither is waited for by the client, whose answer starts at once. An announcement that fails
  // costs the fleet a duplicate fetch at most: the fill goes on without it.
  const cs = cache.volume.chunkSize;
  const lease =
    facts.range !== null && job.method === 'GET'
      ? announceFetch(
          cache,
          { ...job.key, etag: facts.etag },
          Math.floor(facts.range.start / cs),
          Math.floor(facts.range.end / cs),
        ).catch(() => null)
      : null;
  const releaseLease = () => void lease?.then((l) => l?.release());
  let replaced: string | null = null;
  const recorded = cache.records
    .update(
      job.key,
      (current) => {
        const next = mergeAnswer(job, current, facts, res.status, codec, now);
        if (next !== undefined && current !== null && current.etag !== facts.etag) replaced = current.etag;
        return next;
      },
      // The lock is taken and the record read while the announcement is made.
      lease ?? undefined,
    )
    .then(
      () => {
        if (replaced !== null) cache.dropVersionData({ ...job.key, etag: replaced });
      },
      (err: Error) => cache.log.warn('object record not written', { key: job.key.key, error: err.message }),
    )
    .finally(() => recordWritten?.());
  cache.inflight.trackRecordWrite(keyName(job.key), recorded);

  const headers = responseHeadersForClient(res.headers);
  pushXCache(headers, decided);
  sendHead(ex, res.status, headers, res.statusText);
  if (job.method === 'HEAD' || facts.range === null) {
    releaseLease();
    res.body.resume();
    // The head is the whole answer: sent once the record is written, for the reason streamFill gives.
    await recorded;
    ex.res.end();
    return { status: res.status, cache: decided };
  }

  const version = { ...job.key, etag: facts.etag };
  const name = versionName(version);
  const length = facts.range.end - facts.range.start + 1;
  const sink = new ChunkSink(
    {
      ...cache.sinkTarget(version, name.id, { size: facts.size, codec }),
      sniff:
        facts.range.start === 0 && codec === 'lz4'
          ? { key: job.key.key, contentType, contentEncoding }
          : null,
    },
    facts.range.start,
    length,
  );
  // Where a client that falls behind reads the rest: this version's chunks, as the fill commits them.
  const body: BodyJob = {
    ex,
    opts: job.opts,
    cache,
    record: newRecord(job.key, facts, { source: 'get', codec, now }),
    version,
    versionName: name,
    ram: job.rule.ram,
    flexible: job.part === null && !isRangeHeaderSigned(ex.s3.signature, job.headers),
    mayAddConditionals: !hasConditionals(job.conditionals),
  };
  try {
    await streamFill({
      body,
      sink,
      upstream: res.body,
      start: facts.range.start,
      length,
      onBytes: (n) => {
        cache.stats.bytesFromOrigin += n;
      },
      onCommitted: releaseLease,
      // A lock held elsewhere bounds this wait (records.ts).
      beforeLastByte: recorded,
    });
    ex.res.end();
    return { status: res.status, cache: decided };
  } catch (err) {
    ex.res.destroy();
    return { status: res.status, error: `body: ${(err as Error).message}`, cache: decided };
  }
}

/** The record after this answer: the same version refreshed, or a new version replacing the old. */
function mergeAnswer(
  job: ReadJob,
  current: ObjectRecord | null,
  facts: AnswerFacts,
  status: number,
  codec: Codec,
  now: number,
): ObjectRecord | undefined {
  let next: ObjectRecord;
  if (current !== null && current.etag === facts.etag) {
    next = { ...current, size: facts.size, headers: facts.headers };
    if (facts.lastModified !== null) next.lastModified = facts.lastModified;
  } else {
    // Another request may have recorded a newer version meanwhile: never go back in time. An upload's
    // record has no Last-Modified yet; one committed after this request began is newer than its answer.
    if (current !== null && isNewer(current.lastModified, facts.lastModified)) return undefined;
    if (current?.source === 'put' && current.createdAt > job.now) return undefined;
    next = newRecord(job.key, facts, { source: job.method === 'HEAD' ? 'head' : 'get', codec, now });
  }
  if (job.method === 'GET') next.validatedGet = now;
  else next.validatedHead = now;
  if (job.part === null && status === 200 && wantsChecksums(job.headers)) {
    next.checksums = facts.checksums;
  }
  if (job.part !== null && facts.range !== null) {
    next.parts = {
      ...next.parts,
      [String(job.part)]: { start: facts.range.start, end: facts.range.end, status },
    };
    if (facts.partsCount !== null) next.partsCount = facts.partsCount;
  }
  return next;
}

function isNewer(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  return Date.parse(a) > Date.parse(b);
}
