// Reading a small S3 answer body before relaying it, for the multipart calls whose XML the cache needs
// (the upload id, the completion verdict). A body longer than expected is relayed all the same, unread.

import { PassThrough, Readable } from 'node:stream';

/**
 * Collects `body` while it stays within `limit` bytes: `bytes` is the whole body, or null when it grew
 * past the limit. `rest` replays everything read, then what is still to come.
 */
export function readAnswerBody(
  body: Readable,
  limit: number,
): Promise<{ bytes: Buffer | null; rest: Readable }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const stop = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onData = (data: Buffer) => {
      parts.push(data);
      size += data.length;
      if (size <= limit) return;
      stop();
      body.pause();
      const rest = new PassThrough();
      for (const part of parts) rest.write(part);
      body.on('error', (err) => rest.destroy(err));
      body.pipe(rest);
      resolve({ bytes: null, rest });
    };
    const onEnd = () => {
      stop();
      const bytes = Buffer.concat(parts);
      resolve({ bytes, rest: Readable.from(bytes.length > 0 ? [bytes] : []) });
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}
