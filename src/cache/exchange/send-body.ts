// Streaming a body to the client. `stream.pipeline` would do, but its per-call machinery (an
// AbortController, end-of-stream watchers on both sides) cost a quarter of the throughput of small
// objects when measured with bench/forward.ts; this is the same contract with two listeners.

import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Pipes `body` into `res` with back-pressure. Resolves once the client has the whole response; rejects
 * when the body fails (the response is cut, never ended short) or the client goes away (the body is
 * dropped, which releases its upstream connection).
 */
export function sendBody(
  body: Readable,
  res: ServerResponse,
  counted?: (bytes: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      body.destroy();
      return reject(new Error('the client closed the connection before the body was sent'));
    }
    body.once('error', (err) => {
      res.destroy();
      reject(err);
    });
    res.once('close', () => {
      if (res.writableFinished) return resolve();
      body.destroy();
      reject(new Error('the client closed the connection before the body was sent'));
    });
    if (counted) body.on('data', (chunk: Buffer) => counted(chunk.length));
    body.pipe(res);
  });
}
