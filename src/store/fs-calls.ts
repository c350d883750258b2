// The file calls of the hot path, as promises over Node's callback API. `fs/promises` costs several
// times more per call (measured here: stat 128 µs against 33 µs, a small readFile 333 µs against a
// fraction of that), which a cache hit pays on every request.

import fs from 'node:fs';
import { promisify } from 'node:util';

/** Errors that say nothing about a file (no descriptors, a stale NFS handle): a read that meets one is a
 * miss, and the file is left alone. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'EAGAIN',
  'EINTR',
  'EBUSY',
  'ESTALE',
  'ETIMEDOUT',
]);

export const stat = promisify(fs.stat);
export const access = promisify(fs.access);
export const readFile = promisify(fs.readFile);
export const open = promisify(fs.open);
export const fstat = promisify(fs.fstat);
export const close = promisify(fs.close);
export const rename = promisify(fs.rename);
const readdir = promisify(fs.readdir);

/**
 * The volume calls a request waits for (a record's stat, a chunk file's open, fstat, read and close, a
 * lease's exclusive create), for one volume: synchronous on a local file system (local-fs.ts,
 * `LocalCalls`), where each costs microseconds and a round trip through libuv's thread pool costs more
 * than the call; through the thread pool otherwise, so that a slow or hung file server stalls requests,
 * not the process. Callers await either kind, inside try/catch (a synchronous call throws where an
 * asynchronous one rejects).
 */
export interface VolumeCalls {
  stat(path: string): fs.Stats | Promise<fs.Stats>;
  openForReading(path: string): number | Promise<number>;
  fstat(fd: number): fs.Stats | Promise<fs.Stats>;
  /** Reads `length` bytes at file `position` into `into` at `offset`; gives the bytes read. */
  read(fd: number, into: Buffer, offset: number, length: number, position: number): number | Promise<number>;
  close(fd: number): void | Promise<void>;
  /** Creates `path`, which must not exist, holding `text` (mode 0600). */
  createText(path: string, text: string): void | Promise<void>;
  /** The names of the entries of `dir`. */
  readNames(dir: string): string[] | Promise<string[]>;
  /** Creates `dir` and its parents as needed (mode 0700). */
  makeDirs(dir: string): unknown;
  unlink(path: string): void | Promise<void>;
}

export const POOLED_CALLS: VolumeCalls = {
  stat: (path) => stat(path),
  openForReading: (path) => open(path, 'r'),
  fstat: (fd) => fstat(fd),
  read,
  close: (fd) => close(fd),
  createText: (path, text) => fs.promises.writeFile(path, text, { flag: 'wx', mode: 0o600 }),
  readNames: (dir) => readdir(dir),
  makeDirs: (dir) => fs.promises.mkdir(dir, { recursive: true, mode: 0o700 }),
  unlink: (path) => fs.promises.unlink(path),
};

/** A synchronous call longer than this held every request of the process: the disk is under pressure. */
export const SLOW_SYNC_MS = 20;
/** How long a local volume's calls go through the thread pool after a slow synchronous one. */
export const POOLED_AFTER_SLOW_MS = 60_000;

/**
 * Data reads up to this size are synchronous on a local volume (a small object's chunk file, a range's
 * blocks). Larger ones stay in the thread pool, where their copy overlaps the event loop's other work:
 * measured on 1 MiB chunks, reading them synchronously lowered a warm 256 MiB read from the volume by a
 * fifth.
 */
export const SYNC_READ_MAX_BYTES = 128 * 1024;
/**
 * A read of up to SYNC_READ_MAX_BYTES from the kernel's page cache takes microseconds; one that took
 * longer than this waited for the device, or for a core (on a busy machine, a few reads per million).
 */
const DEVICE_READ_MS = 0.25;
/**
 * So many such reads within SLOW_READS_WINDOW_MS say the files being read no longer fit the page cache:
 * data reads then go through the thread pool for READS_POOLED_MS, and the event loop waits for no disk.
 */
export const SLOW_READS_TO_POOL = 8;
const SLOW_READS_WINDOW_MS = 1_000;
const READS_POOLED_MS = 10_000;

/**
 * The calls of a local volume: synchronous (reads only when small), each timed. A local disk can still
 * keep a call waiting (a file creation behind a journal commit while gigabytes are written back, a
 * lookup behind a full device queue), and a synchronous call waits on the event loop, holding every
 * request. So one that takes longer than SLOW_SYNC_MS sends the calls through the thread pool for
 * POOLED_AFTER_SLOW_MS, where a busy disk stalls only the requests that wait for it, and `onSlow` hears
 * of it.
 */
export class LocalCalls implements VolumeCalls {
  // Each method spells its timing out rather than passing its call as a closure, which every hit would
  // allocate.
  #pooledUntil = Number.NEGATIVE_INFINITY;
  /** Data reads alone also go through the thread pool until then (SLOW_READS_TO_POOL). */
  #readsPooledUntil = Number.NEGATIVE_INFINITY;
  /** Reads slower than DEVICE_READ_MS since the start of the current window. */
  #slowReads = 0;
  #slowReadsSince = Number.NEGATIVE_INFINITY;
  /** Told of each synchronous call that took too long (at most once per POOLED_AFTER_SLOW_MS). */
  readonly #onSlow: (call: string, ms: number) => void;

  constructor(onSlow: (call: string, ms: number) => void = () => {}) {
    this.#onSlow = onSlow;
  }

  stat(path: string): fs.Stats | Promise<fs.Stats> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.stat(path);
    try {
      return fs.statSync(path);
    } finally {
      this.#took('stat', t);
    }
  }

  openForReading(path: string): number | Promise<number> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.openForReading(path);
    try {
      return fs.openSync(path, 'r');
    } finally {
      this.#took('open', t);
    }
  }

  fstat(fd: number): fs.Stats | Promise<fs.Stats> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.fstat(fd);
    try {
      return fs.fstatSync(fd);
    } finally {
      this.#took('fstat', t);
    }
  }

  /**
   * Synchronous for reads of up to SYNC_READ_MAX_BYTES while they come from the page cache: a small hit
   * from the volume then waits for no thread-pool round trip (measured: a 4 KiB hit's CPU fell from about
   * 85 µs to 50). Reads that wait for the device send reads to the pool for a while (SLOW_READS_TO_POOL).
   */
  read(fd: number, into: Buffer, offset: number, length: number, position: number): number | Promise<number> {
    const t = performance.now();
    if (length > SYNC_READ_MAX_BYTES || t < this.#pooledUntil || t < this.#readsPooledUntil) {
      return POOLED_CALLS.read(fd, into, offset, length, position);
    }
    try {
      return fs.readSync(fd, into, offset, length, position);
    } finally {
      const now = performance.now();
      if (now - t > DEVICE_READ_MS) this.#slowRead(now);
      this.#took('read', t);
    }
  }

  #slowRead(now: number): void {
    if (now - this.#slowReadsSince > SLOW_READS_WINDOW_MS) {
      this.#slowReadsSince = now;
      this.#slowReads = 0;
    }
    this.#slowReads += 1;
    if (this.#slowReads >= SLOW_READS_TO_POOL) this.#readsPooledUntil = now + READS_POOLED_MS;
  }

  close(fd: number): void | Promise<void> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.close(fd);
    try {
      fs.closeSync(fd);
    } finally {
      this.#took('close', t);
    }
  }

  createText(path: string, text: string): void | Promise<void> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.createText(path, text);
    try {
      fs.writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
    } finally {
      this.#took('create', t);
    }
  }

  readNames(dir: string): string[] | Promise<string[]> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.readNames(dir);
    try {
      return fs.readdirSync(dir);
    } finally {
      this.#took('readdir', t);
    }
  }

  makeDirs(dir: string): unknown {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.makeDirs(dir);
    try {
      return fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } finally {
      this.#took('mkdir', t);
    }
  }

  unlink(path: string): void | Promise<void> {
    const t = performance.now();
    if (t < this.#pooledUntil) return POOLED_CALLS.unlink(path);
    try {
      fs.unlinkSync(path);
    } finally {
      this.#took('unlink', t);
    }
  }

  #took(call: string, since: number): void {
    const now = performance.now();
    const ms = now - since;
    if (ms <= SLOW_SYNC_MS) return;
    this.#pooledUntil = now + POOLED_AFTER_SLOW_MS;
    this.#onSlow(call, ms);
  }
}

/** Reads into `buffer` at `offset`, `length` bytes from file `position`; resolves to the bytes read. */
export function read(fd: number, buffer: Buffer, offset: number, length: number, position: number) {
  return new Promise<number>((resolve, reject) =>
    fs.read(fd, buffer, offset, length, position, (err, bytesRead) =>
      err ? reject(err) : resolve(bytesRead),
    ),
  );
}

/** Creates `path` (it must not exist) holding `parts` in order: one open, vectored writes, one close. */
export async function writeNewFile(path: string, parts: readonly Buffer[]): Promise<void> {
  const fd = await open(path, 'wx', 0o600);
  try {
    await writevAll(fd, parts);
  } finally {
    await close(fd);
  }
}

/** `writev` until every byte is written: a short write resumes where it stopped. */
async function writevAll(fd: number, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length > 0) {
    // Linux takes at most IOV_MAX (1024) buffers per call; a cell arrives in far fewer.
    const batch = rest.length > 1024 ? rest.slice(0, 1024) : rest;
    let written = await new Promise<number>((resolve, reject) =>
      fs.writev(fd, batch, (err, n) => (err ? reject(err) : resolve(n))),
    );
    const next: Buffer[] = [];
    for (const part of rest) {
      if (written >= part.length) written -= part.length;
      else {
        next.push(written > 0 ? part.subarray(written) : part);
        written = 0;
      }
    }
    rest = next;
  }
}

/** Writes all of `data` at file `position`. */
export async function writeAt(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    done += await new Promise<number>((resolve, reject) =>
      fs.write(fd, data, done, data.length - done, position + done, (err, n) =>
        err ? reject(err) : resolve(n),
      ),
    );
  }
}
