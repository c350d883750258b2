// The body of a fill: S3's answer is read as it arrives, cut into chunks, and written to the client as it
// comes. S3 is read no faster than the client and the disk take the bytes, within bounds:
// - a client more than `lagLimit` bytes behind pauses the reading of S3 until it has taken them. Readers
//   here and on other instances wait for the chunks the fill commits, so a client may not hold them back
//   below `CLIENT_PACE`. A slower one (or one that stops) is left behind: it continues from the cache (the
//   chunks this fill commits) while the fill goes on alone, at the pace of S3 and the disk.
// - `LIVE_BACKLOG` of the fill's chunks still on their way to the disk pause S3 until one is written, as
//   long as the disk keeps the fill at `DISK_PACE`, S3's own speed, or faster: the client does not notice
//   a disk that fast. A slower disk is left behind: the fill's chunks are then skipped whenever the
//   process's write budget is spent (src/cache/chunk-sink.ts), and later requests fetch them.
// A pace bounds the fill as a whole, since S3's answer began (with `GRACE_MS` of slack), so a disk that
// waits on top of S3's own time counts against it. An origin faster than the client (a loopback one, or S3
// beside a busy client) then costs nothing more: leaving the client behind at once had it read every byte
// again from the volume, and skipped the chunks the disk was a little late with.

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

/** Chunk commits a fill keeps in flight before it waits for the disk. */
const LIVE_BACKLOG = 4;
const MiB = 1024 * 1024;
/** The least a client may fall behind before the fill waits for it: a few socket buffers. */
const MIN_LAG_BYTES = MiB;
/**
 * The slowest a client may hold a fill to (bytes per second), a third of what one S3 connection carries
 * (bench/README.md): readers waiting for the fill's chunks get them at least this fast.
 */
const CLIENT_PACE = 32 * MiB;
/** The slowest the disk may hold a fill to: one S3 connection's 90 MB/s, so the client does not notice it. */
const DISK_PACE = 86 * MiB;
/** What a fill may fall behind a pace, and the longest one pause: a hiccup, not a stopped client. */
const GRACE_MS = 500;

type Cause = 'client' | 'disk';
const PACE: Readonly<Record<Cause, number>> = { client: CLIENT_PACE, disk: DISK_PACE };

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
  /** Cleared once the disk held the fill below its pace: its chunks are skipped when the budget is spent. */
  let pacedByDisk = true;
  const started = performance.now();
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
  const clientBehind = () => catchUp === null && client.writableLength > lagLimit;
  // A fill whose client was left behind waits for the disk however slow (its sink keeps every chunk).
  const diskBehind = () => (pacedByDisk || catchUp !== null) && sink.backlog >= LIVE_BACKLOG;

  /** Set while S3 is paused. */
  let holding = false;
  /** The pace the pause under way is held to (by its cause), and the timer that fires when it falls behind. */
  let waitingOn: Cause | null = null;
  let patience: NodeJS.Timeout | null = null;
  let waitingForDisk = false;
  const settle = () => {
    waitingOn = null;
    if (patience !== null) clearTimeout(patience);
    patience = null;
  };
  /** Waits for `cause` as long as the fill, since S3's answer began, keeps its pace (or falls behind by
   * `GRACE_MS` at most), and no longer than `GRACE_MS` at once. */
  const waitFor = (cause: Cause) => {
    if (waitingOn === cause) return;
    settle();
    waitingOn = cause;
    const behind = performance.now() - started - (received / PACE[cause]) * 1000;
    patience = setTimeout(() => tooSlow(cause), Math.max(0, Math.min(GRACE_MS, GRACE_MS - behind)));
  };
  /** Resumes S3 once nothing it waits for is behind; called on every event that may end the wait. */
  const check = () => {
    if (!holding) return;
    if (clientBehind()) return waitFor('client'); // the client's 'drain' calls again
    if (diskBehind()) {
      if (catchUp === null) waitFor('disk');
      else settle();
      if (!waitingForDisk) {
        waitingForDisk = true;
        void sink.drain(LIVE_BACKLOG - 1).then(() => {
          waitingForDisk = false;
          check();
        });
      }
      return;
    }
    holding = false;
    settle();
    if (!upstream.destroyed) upstream.resume();
  };
  /** The client, or the disk, held the fill below its pace: it is left behind. */
  const tooSlow = (cause: Cause) => {
    if (waitingOn !== cause) return;
    settle();
    if (cause === 'client') {
      sink.bePatient();
      catchUp = fromCache(f.body, f.start + sent, f.start + f.length - 1);
      catchUp.catch(() => upstream.destroy());
    } else {
      pacedByDisk = false;
    }
    check();
  };
  const hold = () => {
    holding = true;
    upstream.pause();
    check();
  };
  client.on('drain', check);

  const onData = (data: Buffer) => {
    sink.write(data);
    received += data.length;
    f.onBytes(data.length);
    try {
      if (catchUp === null) forClient(data);
    } finally {
      // Every holder of the buffer has its own hold by now: the reader's goes (src/upstream/plain-http.ts).
      pool.releaseAtEnd(data);
    }
    if (!holding && (clientBehind() || diskBehind())) hold();
  };
  const forClient = (data: Buffer) => {
    if (received === f.length) {
      // The last piece: all but its last byte now, that byte once the record is written.
      if (data.length > 1) send(data.subarray(0, -1));
      lastByte = Buffer.from(data.subarray(-1));
      return;
    }
    send(data);
    sent += data.length;
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
      holding = false;
      settle();
      // Commits finish in the background: the client's answer does not wait for the disk.
      void sink.finish(complete).finally(f.onCommitted);
    }
    if (catchUp !== null) await catchUp;
    else if (lastByte !== null) {
      await f.beforeLastByte;
      await write(client, lastByte);
    }
  } finally {
    client.off('drain', check);
    client.off('close', clientGone);
  }
}

/** The client's bytes `from..to` (inclusive), from the chunks the fill commits or from S3. */
async function fromCache(body: BodyJob, from: number, to: number): Promise<void> {
  body.cache.stats.fillsLeftBehind += 1;
  const plan = await planRange(body, from, to);
  await streamPlan(body, plan, null);
}
