// Permission changes for the in-memory origin, answered as S3 answers a caller allowed to make them:
// PutObjectAcl, PutBucketAcl and PutPublicAccessBlock 200, PutBucketPolicy, DeleteBucketPolicy and
// DeletePublicAccessBlock 204. The origin enforces no permission afterwards; tests use these calls to see
// what Kura does around them.

import type { Answer, StoredEntry } from './memory-origin-s3.js';
import { s3Error } from './memory-origin-s3.js';
import { parseQuery } from './sigv4-canonical.js';

/** Sub-resource → status, by the request's method and target. */
const BUCKET_CHANGES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  PUT: { acl: 200, policy: 204, publicAccessBlock: 200 },
  DELETE: { policy: 204, publicAccessBlock: 204 },
};

/** The answer when the request is one of these calls, else null (it is some other request). */
export function permissionChange(
  method: string,
  key: string,
  rawQuery: string,
  objects: ReadonlyMap<string, StoredEntry>,
): Answer | null {
  const names = new Set(parseQuery(rawQuery).map((p) => p.name));
  if (key !== '') {
    if (method !== 'PUT' || !names.has('acl')) return null;
    if (!objects.has(key))
      return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    return { status: 200, headers: [] };
  }
  const byName = BUCKET_CHANGES[method] ?? {};
  const status = [...names].map((name) => byName[name]).find((s) => s !== undefined);
  return status === undefined ? null : { status, headers: [] };
}
