// PutObject through the cache: the body streams to S3 untouched while its object bytes are cut into
// chunks in staging. Once S3 answers 2xx with an ETag and exactly the declared bytes went through, the
// staged chunks become the new version and its record is written — before the client hears S3's answer,
// so its next read is served from the volume. Any other end drops the staging; the key is invalidated
// whatever S3 said, so an old version is never served after a write was attempted.

import { headerValue } from '../../s3/headers.js';
import { confirmedChecksums, storedAnswerHeaders, storedRequestHeaders } from '../../s3/stored-headers.js';
import type { Cache } from '../cache.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { pass } from '../exchange/pass.js';
import { uploadRecord } from '../read/record-headers.js';
import type { WriteRefusal } from '../stats.js';
import { declaredObjectSize, teeBody } from './body-tee.js';
import { writeThrough } from './invalidate.js';
import { openUploadSink } from './upload-sink.js';
import { admitWrite } from './write-admission.js';

export async function putThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const admitted = admitWrite(ex, cache);
  const size = declaredObjectSize(ex.req.rawHeaders);
  if (!admitted.ok || size === null || size > cache.writeMaxSize) {
    const reason = !admitted.ok ? admitted.reason : size === null ? 'no-length' : 'too-large';
    cache.stats.writesNotCached[reason] += 1;
    return writeThrough(ex, opts, cache);
  }
  const key = admitted.key;
  const stored = storedRequestHeaders(ex.req.rawHeaders);
  const { sink, staging, codec } = await openUploadSink(cache, key, size, stored, admitted.compress);
  const tee = teeBody(ex.req, size, (bytes) => sink.write(bytes));
  let settled = false;
  const settle = async (status: number | null, answer: readonly string[]): Promise<void> => {
    settled = true;
    const etag = headerValue(answer, 'etag');
    const whole = status !== null && status >= 200 && status <= 299 && tee.state.failed === null;
    await sink.finish(whole && tee.state.copied === size);
    await cache.invalidate(key);
    if (!whole || etag === undefined || etag === '') {
      await staging.discard();
      const reason: WriteRefusal =
        status === null || status < 200 || status > 299
          ? 'rejected'
          : tee.state.framingError
            ? 'framing'
            : 'incomplete';
      cache.stats.writesNotCached[reason] += 1;
      if (tee.state.failed !== null) {
        cache.log.debug('upload not cached', { key: key.key, reason: tee.state.failed });
      }
      return;
    }
    const checksums = confirmedChecksums(answer);
    const record = uploadRecord(key, {
      etag,
      size,
      headers: [...stored, ...storedAnswerHeaders(answer)],
      checksums: checksums.length > 0 ? checksums : null,
      partsCount: null,
      parts: {},
      codec: codec(),
    });
    try {
      await staging.publish({ ...key, etag });
      await cache.records.update(key, () => record);
      cache.stats.writesCached += 1;
    } catch (err) {
      cache.stats.writesNotCached['cache-error'] += 1;
      cache.log.warn('upload not cached', { key: key.key, error: (err as Error).message });
      await staging.discard();
      await cache.invalidate(key);
    }
  };
  try {
    return await pass(ex, opts, { body: tee.body, beforeReply: settle });
  } finally {
    // No answer from S3 (unreachable, or the client went away): nothing is kept, and S3 may still have
    // stored the object, so the key is invalidated all the same.
    if (!settled) await settle(null, []);
  }
}
