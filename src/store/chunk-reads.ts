// Reading chunk files: whole (for a read, into a pooled buffer when given one), their header and some of
// their blocks (a range of a full chunk), or only their header (for a probe), with one open and one close
// each; a file that is not there is null, not an error. Every call is the volume's (fs-calls.ts,
// `VolumeCalls`): on a local volume the open, fstat and close are synchronous, and so is the data read of a
// small file or range while it comes from the page cache; a large read, or one that may wait for a disk or
// a file server, goes through the thread pool.

import type { BufferPool } from './buffer-pool.js';
import { CorruptChunkError, headerLengthOf } from './chunk-file.js';
import type { RangeInFile } from './chunk-ranges.js';
import type { VolumeCalls } from './fs-calls.js';

/** Enough for the header of a partial chunk with up to 508 extents in one read. */
const PROBE_READ_BYTES = 4096;

/** The whole file, or null when it does not exist. Throws CorruptChunkError when it is too large. */
export async function readWholeFile(
  path: string,
  maxBytes: number,
  calls: VolumeCalls,
  pool?: BufferPool,
): Promise<Buffer | null> {
  const fd = await openOrNull(path, calls);
  if (fd === null) return null;
  try {
    const st = await calls.fstat(fd);
    if (!st.isFile()) throw new CorruptChunkError('not a file');
    const size = st.size;
    if (size > maxBytes) throw new CorruptChunkError(`file of ${size} bytes is larger than any chunk`);
    // Shorter than its stat: the decoder's length checks reject it.
    return await readInto(fd, pool ? pool.take(size) : Buffer.allocUnsafe(size), 0, calls);
  } finally {
    await closeQuietly(fd, calls);
  }
}

/**
 * The first `where.headerLength` bytes of a file and the `where.length` bytes at `where.offset` (either
 * short when the file is), or null when it does not exist. No fstat: the header says how long the file
 * must be, and a short read shows it is not. With a `pool`, the blocks are read into one of its buffers
 * (one reference, for the caller).
 */
export async function readHeadAndBlocks(
  path: string,
  where: RangeInFile,
  calls: VolumeCalls,
  pool?: BufferPool,
): Promise<{ head: Buffer; blocks: Buffer } | null> {
  const fd = await openOrNull(path, calls);
  if (fd === null) return null;
  const take = (length: number) => (pool ? pool.take(length) : Buffer.allocUnsafe(length));
  try {
    if (where.offset === where.headerLength) {
      // The range starts at the payload's start: one read for both.
      const both = await readInto(fd, take(where.headerLength + where.length), 0, calls);
      const head = both.subarray(0, Math.min(both.length, where.headerLength));
      return { head, blocks: both.subarray(head.length) };
    }
    const [head, blocks] = await Promise.all([
      readInto(fd, Buffer.allocUnsafe(where.headerLength), 0, calls),
      readInto(fd, take(where.length), where.offset, calls),
    ]);
    return { head, blocks };
  } finally {
    await closeQuietly(fd, calls);
  }
}

/** Fills `into` from the file's bytes at `position`: `into` itself, or its start where the file ends. */
async function readInto(fd: number, into: Buffer, position: number, calls: VolumeCalls): Promise<Buffer> {
  let filled = 0;
  while (filled < into.length) {
    const n = await calls.read(fd, into, filled, into.length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled === into.length ? into : into.subarray(0, filled);
}

/** The header bytes of a chunk file (possibly short; the header check rejects those), or null when absent. */
export async function readHeaderBytes(path: string, calls: VolumeCalls): Promise<Buffer | null> {
  const fd = await openOrNull(path, calls);
  if (fd === null) return null;
  try {
    const first = Buffer.allocUnsafe(PROBE_READ_BYTES);
    const bytesRead = await calls.read(fd, first, 0, PROBE_READ_BYTES, 0);
    const prefix = first.subarray(0, bytesRead);
    let need: number;
    try {
      need = headerLengthOf(prefix);
    } catch {
      return prefix;
    }
    if (need <= bytesRead) return prefix;
    const whole = Buffer.allocUnsafe(need);
    const more = await calls.read(fd, whole, 0, need, 0);
    return whole.subarray(0, more);
  } finally {
    await closeQuietly(fd, calls);
  }
}

async function closeQuietly(fd: number, calls: VolumeCalls): Promise<void> {
  // Closing a descriptor opened for reading fails only if it is already closed: nothing to lose.
  try {
    await calls.close(fd);
  } catch {}
}

async function openOrNull(path: string, calls: VolumeCalls): Promise<number | null> {
  try {
    return await calls.openForReading(path);
  } catch (err) {
    // ENOTDIR (a file where a directory of the path belongs) is damage: the caller removes it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
