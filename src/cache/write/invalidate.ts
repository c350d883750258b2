// Writes through Kura make cached answers wrong: once one is sent to S3, the object's record and bytes go.
// So do permission changes: a cached answer may be one S3 would now refuse.

import type { IncomingMessage } from 'node:http';
import { deleteObjectsKeys } from '../../s3/delete-objects.js';
import { maxMessageLengthExceeded } from '../../s3/errors.js';
import type { OperationName } from '../../s3/types.js';
import { expectsContinue } from '../../upstream/headers.js';
import { type Cache, namespaceOf } from '../cache.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { pass } from '../exchange/pass.js';
import { replyError } from '../exchange/reply.js';

const CHANGES_KEY: ReadonlySet<OperationName> = new Set([
  'PutObject',
  'CopyObject',
  'CompleteMultipartUpload',
  'DeleteObject',
  'UploadPartCopy',
  'PutObjectAcl',
]);

/** Permission changes of a whole bucket: every cached entry of the bucket goes. */
const CHANGES_BUCKET: ReadonlySet<OperationName> = new Set([
  'PutBucketAcl',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutPublicAccessBlock',
  'DeletePublicAccessBlock',
]);

/**
 * DeleteObjects takes at most 1000 keys of at most 1024 bytes each, CompleteMultipartUpload at most 10000
 * parts of a few hundred bytes: as XML, both stay below this.
 */
const SMALL_BODY_LIMIT = 8 * 1024 * 1024;

export function changesObjects(name: OperationName): boolean {
  return CHANGES_KEY.has(name) || CHANGES_BUCKET.has(name) || name === 'DeleteObjects';
}

/** What a write handler adds to forwarding and invalidation (CompleteMultipartUpload commits). */
export interface WriteExtras {
  /** The request body, already read. */
  body?: Buffer;
  answerBodyLimit?: number;
  /** After invalidation, before the client hears S3's answer; not called when S3 gave none. */
  afterAnswer?: (status: number, headers: readonly string[], body: Buffer | null) => Promise<void>;
}

export async function writeThrough(
  ex: Exchange,
  opts: PassOptions,
  cache: Cache,
  extras: WriteExtras = {},
): Promise<Outcome> {
  const s3 = ex.s3;
  let keys: string[] = s3.key === null ? [] : [s3.key];
  let body = extras.body;
  if (s3.operation.name === 'DeleteObjects') {
    const read = await readSmallBody(ex);
    if (!Buffer.isBuffer(read)) return read;
    body = read;
    keys = deleteObjectsKeys(read.toString('utf8'));
  }
  const bucket = s3.bucket;
  let invalidated = false;
  // Before the client hears S3's answer, whatever it is: its next read must not find the old bytes. A
  // refused write changed nothing, but a 5xx or a lost answer may hide one that S3 applied, and one rule
  // for every outcome costs at most a refetch.
  const invalidate = async () => {
    invalidated = true;
    if (bucket === null) return;
    const namespace = namespaceOf(s3, ex.route);
    if (CHANGES_BUCKET.has(s3.operation.name)) {
      await cache.invalidateBucket(namespace, bucket);
      return;
    }
    await Promise.all(keys.map((key) => cache.invalidate({ namespace, bucket, key })));
  };
  const beforeReply = async (status: number, headers: readonly string[], answer: Buffer | null) => {
    await invalidate();
    await extras.afterAnswer?.(status, headers, answer);
  };
  try {
    return await pass(ex, opts, {
      ...(body === undefined ? {} : { body }),
      ...(extras.answerBodyLimit === undefined ? {} : { answerBodyLimit: extras.answerBodyLimit }),
      beforeReply,
    });
  } finally {
    if (!invalidated) await invalidate();
  }
}

/** A request body Kura must read before forwarding (a key list, a part list); a 400 when too big. */
export async function readSmallBody(ex: Exchange): Promise<Buffer | Outcome> {
  // Kura needs these bodies before S3 sees the request, so it answers the client's expectation itself:
  // a refused DeleteObjects or CompleteMultipartUpload costs the client a few KiB of XML.
  if (expectsContinue(ex.req.rawHeaders, ex.req.httpVersion)) ex.res.writeContinue();
  const read = await readLimited(ex.req, SMALL_BODY_LIMIT);
  if (read !== null) return read;
  const error = maxMessageLengthExceeded();
  replyError(ex, error, { requestId: ex.requestId, resource: ex.s3.rawPath, hasBody: true });
  return { status: 400, error: error.code };
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (data: Buffer) => {
      size += data.length;
      if (size > limit) {
        req.pause();
        resolve(null);
        return;
      }
      parts.push(data);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}
