// `HEAD …?prefetch=1`: the client gets its HEAD answer while a GET of the whole object runs through the
// cache's read path in the background, its bytes stored and then dropped. The GET is Kura's own request
// (no client connection holds it), so it ends when the object is cached, whatever the client does.

import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { Cache } from '../cache/cache.js';
import type { Exchange, PassOptions } from '../cache/exchange/exchange.js';
import { newRequestId } from '../cache/exchange/reply.js';
import { readPath } from '../cache/read/read-path.js';
import { parseS3Request } from '../s3/request.js';
import type { Logger } from '../telemetry/log.js';

/** A response nobody reads: the read path writes the body into it, and it counts what arrives. */
class DiscardedResponse extends Writable {
  headersSent = false;
  statusCode = 0;
  bytes = 0;

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.bytes += chunk.length;
    done();
  }
}

/** Objects being prefetched now: a second prefetch of one of them starts nothing. */
const running = new Set<string>();

export function prefetch(
  deps: { cache: Cache; log: Logger },
  ex: Exchange,
  opts: PassOptions,
  path: string,
  host: string,
): void {
  const id = `${ex.route.origin}\n${path}`;
  if (running.has(id)) return;
  const parsed = parseS3Request({ method: 'GET', target: path, headers: ['Host', host] });
  if (!parsed.ok) return;
  running.add(id);
  const sink = new DiscardedResponse();
  const warm: Exchange = {
    ...ex,
    req: Object.assign(Object.create(ex.req) as Exchange['req'], { rawHeaders: ['Host', host] }),
    res: sink as unknown as ServerResponse,
    s3: parsed.request,
    requestId: newRequestId(),
    // Its own: the client that asked may hang up, the prefetch goes on.
    signal: new EventEmitter(),
    hitAuth: 'any',
  };
  readPath(warm, opts, deps.cache)
    .then((outcome) => {
      deps.log.debug('prefetched', { key: parsed.request.key, status: outcome.status, bytes: sink.bytes });
    })
    .catch((err: Error) => deps.log.warn('prefetch failed', { key: parsed.request.key, error: err.message }))
    .finally(() => running.delete(id));
}
