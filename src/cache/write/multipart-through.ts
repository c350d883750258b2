// Multipart uploads through the cache. CreateMultipartUpload keeps the object's headers by upload id;
// each UploadPart is teed into `uploads/{uploadId}/` as it streams to S3; CompleteMultipartUpload, once
// S3 says it succeeded, lays the listed parts onto the chunk grid of the new version (checking each
// against the ETag listed and its own CRC32) and writes the record before the client hears S3's answer.
// AbortMultipartUpload removes the staging. Every call is forwarded untouched whatever happens here.

import { headerValue } from '../../s3/headers.js';
import {
  completedParts,
  completionVerdict,
  etagPartCount,
  initiatedUploadId,
  isSafeUploadId,
  type ListedPart,
} from '../../s3/multipart.js';
import { storedAnswerHeaders, storedRequestHeaders } from '../../s3/stored-headers.js';
import type { Codec, ObjectKey, ObjectRecord, PartAnswer } from '../../store/types.js';
import type { StagedPart, UploadMeta } from '../../store/upload-staging.js';
import type { Cache } from '../cache.js';
import type { ChunkSink } from '../chunk-sink.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { pass } from '../exchange/pass.js';
import { uploadRecord } from '../read/record-headers.js';
import type { WriteRefusal } from '../stats.js';
import { declaredObjectSize, teeBody } from './body-tee.js';
import { readSmallBody, writeThrough } from './invalidate.js';
import { openUploadSink, type UploadSink } from './upload-sink.js';
import { admitWrite } from './write-admission.js';

/** S3's multipart answers are a few hundred bytes of XML (Complete may add keep-alive whitespace). */
const ANSWER_LIMIT = 1024 * 1024;
/** The client waits this long for a commit before it hears S3's answer; the commit then goes on alone. */
const COMMIT_WAIT_MS = 10_000;

export async function createThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const admitted = admitWrite(ex, cache);
  if (!admitted.ok) {
    cache.stats.writesNotCached[admitted.reason] += 1;
    return pass(ex, opts);
  }
  const meta: UploadMeta = {
    ...admitted.key,
    headers: storedRequestHeaders(ex.req.rawHeaders),
    createdAt: Date.now(),
  };
  return pass(ex, opts, {
    answerBodyLimit: ANSWER_LIMIT,
    beforeReply: async (status, _headers, body) => {
      const uploadId = status === 200 && body !== null ? initiatedUploadId(body.toString('utf8')) : null;
      if (uploadId === null || !isSafeUploadId(uploadId)) return;
      await cache.uploads.saveUpload(uploadId, meta).catch((err: Error) => {
        cache.log.warn('multipart upload not staged', { key: meta.key, error: err.message });
      });
    },
  });
}

export async function partThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const { uploadId, partNumber } = ex.s3.operation;
  const admitted = admitWrite(ex, cache);
  if (!admitted.ok) {
    cache.stats.writesNotCached[admitted.reason] += 1;
    return pass(ex, opts);
  }
  const size = declaredObjectSize(ex.req.rawHeaders);
  const known = uploadId !== null && isSafeUploadId(uploadId) && partNumber !== null;
  const meta = known ? await cache.uploads.readUpload(uploadId) : null;
  if (meta === null || !sameObject(meta, admitted.key) || partNumber === null || size === null) {
    cache.stats.writesNotCached[size === null ? 'no-length' : 'unknown-upload'] += 1;
    return pass(ex, opts);
  }
  const writer = cache.uploads.partWriter(uploadId as string, partNumber);
  const tee = teeBody(ex.req, size, (bytes) => writer.write(bytes));
  let settled = false;
  const settle = async (status: number | null, headers: readonly string[]) => {
    settled = true;
    const etag = headerValue(headers, 'etag');
    if (status === 200 && etag !== undefined && tee.state.failed === null) {
      try {
        if (await writer.publish(etag, size)) {
          cache.stats.partsStaged += 1;
          return;
        }
      } catch (err) {
        cache.log.warn('part not staged', { key: meta.key, error: (err as Error).message });
      }
    }
    writer.abandon(tee.state.failed ?? `S3 answered ${status ?? 'nothing'}`);
    cache.stats.writesNotCached[tee.state.framingError ? 'framing' : 'incomplete'] += 1;
  };
  try {
    return await pass(ex, opts, { body: tee.body, beforeReply: settle });
  } finally {
    if (!settled) await settle(null, []);
  }
}

export async function abortThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const uploadId = ex.s3.operation.uploadId;
  return pass(ex, opts, {
    beforeReply: async (status) => {
      // Gone at S3 either way (aborted now, or NoSuchUpload): its staging has no use left.
      if ((status === 204 || status === 404) && uploadId !== null && isSafeUploadId(uploadId)) {
        // Best effort: staging left behind is removed after cache.upload_ttl by the uploads sweep.
        await cache.uploads.remove(uploadId).catch(() => {});
      }
    },
  });
}

export async function completeThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const request = await readSmallBody(ex);
  if (!Buffer.isBuffer(request)) return request;
  const uploadId = ex.s3.operation.uploadId;
  if (uploadId === null || !isSafeUploadId(uploadId)) return writeThrough(ex, opts, cache, { body: request });
  const admitted = admitWrite(ex, cache);
  const listed = completedParts(request.toString('utf8'));
  return writeThrough(ex, opts, cache, {
    body: request,
    answerBodyLimit: ANSWER_LIMIT,
    afterAnswer: async (status, headers, answer) => {
      const meta = await cache.uploads.readUpload(uploadId);
      const verdict = completionVerdict(status, answer?.toString('utf8') ?? '');
      if (verdict.ok && meta !== null && admitted.ok && sameObject(meta, admitted.key) && listed !== null) {
        const commit = commitUpload(cache, uploadId, meta, listed, verdict.etag, headers);
        await Promise.race([commit, new Promise((resolve) => setTimeout(resolve, COMMIT_WAIT_MS).unref())]);
        return;
      }
      if (meta !== null) {
        cache.stats.writesNotCached[verdict.ok ? 'unknown-upload' : 'rejected'] += 1;
        // S3 answered: the upload is complete, or the client will retry a fixed list — not cached then.
        // Best effort: staging left behind is removed after cache.upload_ttl by the uploads sweep.
        await cache.uploads.remove(uploadId).catch(() => {});
      }
    },
  });
}

/** Lays the staged parts onto the new version's grid; any failed check leaves nothing committed. */
async function commitUpload(
  cache: Cache,
  uploadId: string,
  meta: UploadMeta,
  listed: ListedPart[],
  etag: string,
  answer: readonly string[],
): Promise<void> {
  const key: ObjectKey = { namespace: meta.namespace, bucket: meta.bucket, key: meta.key };
  let upload: UploadSink | null = null;
  let refusal: WriteRefusal | null = null;
  try {
    const parts: StagedPart[] = [];
    for (const p of listed) {
      const part = await cache.uploads.findPart(uploadId, p.partNumber, p.etag);
      if (part === null) break;
      parts.push(part);
    }
    const size = parts.reduce((sum, p) => sum + p.size, 0);
    if (parts.length < listed.length) refusal = 'part-missing';
    else if (etagPartCount(etag) !== listed.length) refusal = 'parts-count';
    else if (size > cache.writeMaxSize) refusal = 'too-large';
    if (refusal !== null) return;

    const compress = cache.rules.rules.ruleFor(key.bucket, key.key).compress;
    upload = await openUploadSink(cache, key, size, meta.headers, compress);
    await layParts(cache, upload.sink, parts);
    await upload.staging.publish({ ...key, etag });
    const codec = upload.codec();
    await cache.records.update(key, () =>
      multipartRecord(key, meta, etag, parts, listed, size, answer, codec),
    );
    cache.stats.writesCached += 1;
  } catch (err) {
    refusal = 'cache-error';
    cache.log.warn('multipart upload not cached', { key: key.key, error: (err as Error).message });
    await cache.invalidate(key);
  } finally {
    if (refusal !== null) cache.stats.writesNotCached[refusal] += 1;
    await upload?.staging.discard();
    // Best effort: staging left behind is removed after cache.upload_ttl by the uploads sweep.
    await cache.uploads.remove(uploadId).catch(() => {});
  }
}

/** Streams the parts, in order, through the sink on the object's grid, checking each part's CRC32. */
async function layParts(cache: Cache, sink: ChunkSink, parts: StagedPart[]): Promise<void> {
  let complete = false;
  try {
    for (const part of parts) {
      for await (const data of cache.uploads.readPart(part)) {
        sink.write(data);
        // No client to keep up with: wait for the volume rather than skip chunks.
        await sink.drain(4);
      }
    }
    complete = true;
  } finally {
    await sink.finish(complete);
  }
}

function multipartRecord(
  key: ObjectKey,
  meta: UploadMeta,
  etag: string,
  parts: StagedPart[],
  listed: ListedPart[],
  size: number,
  answer: readonly string[],
  codec: Codec,
): ObjectRecord {
  // GET ?partNumber=N reads the N-th part; recorded only for the usual numbering 1..N, where the client's
  // part numbers and S3's agree without guessing.
  const byNumber: Record<string, PartAnswer> = {};
  if (listed.every((p, i) => p.partNumber === i + 1)) {
    let start = 0;
    for (const [i, part] of parts.entries()) {
      if (part.size > 0) byNumber[String(i + 1)] = { start, end: start + part.size - 1, status: 206 };
      start += part.size;
    }
  }
  return uploadRecord(key, {
    etag,
    size,
    headers: [...meta.headers, ...storedAnswerHeaders(answer)],
    checksums: null,
    partsCount: listed.length,
    parts: byNumber,
    codec,
  });
}

function sameObject(meta: UploadMeta, key: ObjectKey): boolean {
  return meta.namespace === key.namespace && meta.bucket === key.bucket && meta.key === key.key;
}
