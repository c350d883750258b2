// Object records for store tests: a fresh key each time, and a valid record of it.

import type { ObjectKey, ObjectRecord } from '../../src/store/types.js';

let serial = 0;

/** A key no other call returns, with spaces and non-ASCII characters in it. */
export function recordKey(): ObjectKey {
  serial++;
  return { namespace: 'aws', bucket: 'record-tests', key: `k/${serial} with spaces & ünïcode` };
}

/** A valid record of `k`, ETag `"0123456789abcdef"` unless `overrides` says otherwise. */
export function objectRecord(k: ObjectKey, overrides: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    format: 1,
    namespace: k.namespace,
    bucket: k.bucket,
    key: k.key,
    etag: '"0123456789abcdef"',
    size: 0,
    lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT',
    headers: [['content-type', 'text/plain']],
    checksums: null,
    partsCount: null,
    parts: { '1': { start: 0, end: 9, status: 206 } },
    source: 'get',
    codec: 'lz4',
    validatedGet: 1_700_000_000_000,
    validatedHead: null,
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}
