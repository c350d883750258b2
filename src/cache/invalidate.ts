// Writes through Kura make cached answers wrong: after S3 accepts one, the object's record and bytes go.

import type { IncomingMessage } from 'node:http';
import { deleteObjectsKeys } from '../s3/delete-objects.js';
import type { OperationName } from '../s3/types.js';
import { type Cache, namespaceOf } from './cache.js';
import { type Exchange, type Outcome, type PassOptions, pass } from './pass.js';
import { replyError } from './reply.js';

const CHANGES_KEY: ReadonlySet<OperationName> = new Set([
  'PutObject',
  'CopyObject',
  'CompleteMultipartUpload',
  'DeleteObject',
]);

/** S3 takes at most 1000 keys of at most 1024 bytes each; escaped as XML that stays below this. */
const DELETE_BODY_LIMIT = 8 * 1024 * 1024;

export function changesObjects(name: OperationName): boolean {
  return CHANGES_KEY.has(name) || name === 'DeleteObjects';
}

export async function writeThrough(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const s3 = ex.s3;
  let keys: string[] = s3.key === null ? [] : [s3.key];
  let body: Buffer | undefined;
  if (s3.operation.name === 'DeleteObjects') {
    const read = await readLimited(ex.req, DELETE_BODY_LIMIT);
    if (read === null) {
      const error = {
        status: 400,
        code: 'MaxMessageLengthExceeded',
        message: 'Your request was too big.',
      };
      replyError(ex.res, error, { requestId: ex.requestId, resource: s3.rawPath, hasBody: true });
      return { status: 400, error: error.code };
    }
    body = read;
    keys = deleteObjectsKeys(read.toString('utf8'));
  }
  const bucket = s3.bucket;
  // Before the client hears "done": its next read must not find the old bytes.
  const beforeReply = async (status: number) => {
    if (status < 200 || status > 299 || bucket === null) return;
    const namespace = namespaceOf(s3, ex.route);
    await Promise.all(keys.map((key) => cache.invalidate({ namespace, bucket, key })));
  };
  return pass(ex, opts, { readBody: body, beforeReply });
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
