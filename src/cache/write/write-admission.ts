// Whether an upload's bytes may be kept as they stream to S3. Every upload is forwarded whatever the
// answer here; a refused one is only not cached (and still invalidates the key).

import { isStorableBucket } from '../../s3/bucket-name.js';
import { headerValue } from '../../s3/headers.js';
import { type Cache, namespaceOf } from '../cache.js';
import type { Exchange } from '../exchange/exchange.js';
import type { WriteRefusal } from '../stats.js';

export type WriteAdmission =
  | { ok: true; key: { namespace: string; bucket: string; key: string }; compress: boolean }
  | { ok: false; reason: WriteRefusal };

export function admitWrite(ex: Exchange, cache: Cache): WriteAdmission {
  const { s3 } = ex;
  if (s3.bucket === null || s3.key === null) return { ok: false, reason: 'not-an-object' };
  if (!isStorableBucket(s3.bucket)) return { ok: false, reason: 'bucket-name' };
  const rule = cache.rules.rules.ruleFor(s3.bucket, s3.key);
  if (!rule.writeCache || !rule.read) return { ok: false, reason: 'rule' };
  // Reads of SSE-C objects need the customer's key and always pass (docs/caching.md#bypasses): nothing to
  // serve.
  if (headerValue(ex.req.rawHeaders, 'x-amz-server-side-encryption-customer-algorithm') !== undefined) {
    return { ok: false, reason: 'sse-c' };
  }
  return {
    ok: true,
    key: { namespace: namespaceOf(s3, ex.route), bucket: s3.bucket, key: s3.key },
    compress: rule.compress,
  };
}
