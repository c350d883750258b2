// The body of a fill: S3's answer is read at S3's pace, cut into chunks as it arrives, and written to the
// client as it comes. The fill never waits for its client: readers here and on other instances wait for
// the chunks it commits, so a client that stops reading must not stop them. A client that falls behind
// by more than `lagLimit` bytes lets go of the live answer and continues from the cache (the chunks this
// fill commits), while the fill goes on alone, at the pace of S3 and the disk.

import type { Readable } from 'node:stream';
import type { ChunkSink } from '../chunk-sink.js';
import type { BodyJob } from './body-job.js';
import { planRange, streamPlan, write } from './cached-body.js';

export interface FillStream {
  /** How the client's bytes are read back from the cache once it has fallen behind. */
  body: BodyJob;
  sink: ChunkSink;
  upstream: Readable;
  /** Object offset of the answer's first byte, and the answer's length. */
  start: number;
  length: number;
  /** Told of every byte read from S3. */
  onBytes: (bytes: number) => void;
  /** Told once the sink has committed what it could (waiters are released chunk by chunk before). */
  onCommitted: () => void;
  /**
   * The answer's last byte is sent once this settles (the record is written): a client that has every
   * byte and asks again, through any instance sharing the volume, then finds the record.
   */
  beforeLastByte: Promise<unknown>;
}

/** Chunk commits a fill without a client keeps in flight before it stops reading S3 for a while. */
const DETACHED_BACKLOG = 4;
/** The least a client may fall behind before it continues from the cache: a few socket buffers. */
const MIN_LAG_BYTES = 1024 * 1024;

/**
 * Streams the answer to the client. Resolves once the client has every byte (the caller ends the
 * response); rejects when it cannot have them (the caller cuts the connection, as S3 would have).
 */
export async function streamFill(f: FillStream): Promise<void> {
  const { upstream, sink } = f;
  const client = f.body.ex.res;
  const lagLimit = Math.max(f.body.cache.volume.chunkSize, MIN_LAG_BYTES);
  let sent = 0;
  let received = 0;
  /** Set once the client continues from the cache. */
  let catchUp: Promise<void> | null = null;
  let lastByte: Buffer | null = null;
  // A client that goes away ends the fill: nobody may want the rest, and waiters fetch what they miss.
  const clientGone = () => {
    if (!client.writableFinished) upstream.destroy(new Error('the client closed the connection'));
  };
  client.once('close', clientGone);

  const pool = f.body.cache.cellPool;
  /** Sends a view of a pooled cell buffer, holding the buffer until the socket is done with it. */
  const send = (view: Buffer) => {
    pool.hold(view);
    client.write(view, (err) => {
      if (!err) pool.release(view);
    });
  };
  const onData = (data: Buffer) => {
    sink.write(data);
    received += data.length;
    f.onBytes(data.length);
    try {
      forClient(data);
    } finally {
      // Every holder of the buffer has its own hold by now: the reader's goes (src/upstream/plain-http.ts).
      pool.releaseAtEnd(data);
    }
  };
  const forClient = (data: Buffer) => {
    if (catchUp === null) {
      if (received === f.length) {
        // The last piece: all but its last byte now, that byte once the record is written.
        if (data.length > 1) send(data.subarray(0, -1));
        lastByte = Buffer.from(data.subarray(-1));
        return;
      }
      send(data);
      sent += data.length;
      if (client.writableLength > lagLimit) {
        sink.bePatient();
        catchUp = fromCache(f.body, f.start + sent, f.start + f.length - 1);
        catchUp.catch(() => upstream.destroy());
      }
    } else if (sink.backlog >= DETACHED_BACKLOG) {
      upstream.pause();
      void sink.drain(DETACHED_BACKLOG - 1).then(() => {
        if (!upstream.destroyed) upstream.resume();
      });
    }
  };
  let complete = false;
  try {
    try {
      await new Promise<void>((resolve, reject) => {
        upstream.on('data', onData);
        upstream.once('end', resolve);
        upstream.once('error', reject);
        upstream.once('close', () => reject(new Error('S3 ended the body early')));
      });
      complete = received === f.length;
      if (!complete) throw new Error('S3 ended the body early');
    } catch (err) {
      // A client reading from the cache fetches what the fill did not bring; any other is cut short.
      if (catchUp === null) throw err;
    } finally {
      // Commits finish in the background: the client's answer does not wait for the disk.
      void sink.finish(complete).finally(f.onCommitted);
    }
    if (catchUp !== null) await catchUp;
    else if (lastByte !== null) {
      await f.beforeLastByte;
      await write(client, lastByte);
    }
  } finally {
    client.off('close', clientGone);
  }
}

/** The client's bytes `from..to` (inclusive), from the chunks the fill commits or from S3. */
async function fromCache(body: BodyJob, from: number, to: number): Promise<void> {
  body.cache.stats.fillsLeftBehind += 1;
  const plan = await planRange(body, from, to);
  await streamPlan(body, plan, null);
}
