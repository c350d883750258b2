// The journal: each instance appends what it did to the volume (chunks added with their bytes, objects
// read, files removed) to its own segment files under `journal/{instance}/`, buffered in memory and
// flushed every few seconds. The segment being written is `{name}.open`; rotation renames it to
// `{name}.log`, which only the leader reads (and deletes once consolidated). Losing an unflushed tail on
// a crash only makes eviction slightly less informed (docs/volume.md#journal); the scan repairs sizes.
// Each line is `TAG object [version chunk bytes | bytes source] time`; a torn last line is skipped (its
// field count is short), and `T time` lines date the read counts (`H object count`) that follow.

import { appendFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { VolumeEvents } from './events.js';
import type { ObjectKey, ObjectRecord, ObjectVersion } from './types.js';
import { etagName, type Volume } from './volume.js';

export interface JournalOptions {
  /** How often buffered events are appended to the open segment (and the heartbeat refreshed). */
  flushMs: number;
  /** A segment is closed once it holds this many bytes, or has been open this long. */
  segmentBytes: number;
  segmentAgeMs: number;
}

/** One line of a segment, parsed. Object ids are `Volume.objectId`; versions are `etagName`s. */
export type JournalEvent =
  | { kind: 'chunk'; object: string; version: string; chunk: string; bytes: number }
  | { kind: 'chunk-removed'; object: string; version: string; chunk: string }
  | { kind: 'version-removed'; object: string; version: string }
  | { kind: 'data-removed'; object: string }
  | { kind: 'record'; object: string; bytes: number; source: ObjectRecord['source'] }
  | { kind: 'record-removed'; object: string }
  | { kind: 'read'; object: string; count: number };

/** What every instance writes beside its segments: how the leader and `kura cache stats` know it lives. */
export interface Heartbeat {
  instance: string;
  host: string;
  pid: number;
  startedAt: number;
  lastSeen: number;
  stopped: boolean;
  /** `savedAt` of the leader summary this instance's space gate bases on (space-gate.ts). */
  summarySeen?: number;
  /** The instances this instance's space gate counts (space-gate.ts). */
  counting?: string[];
  /** The time of the newest event appended to its journal (what the leader's `consolidated` compares). */
  journaled?: number;
}

export const HEARTBEAT_FILE = 'heartbeat.json';

export class Journal implements VolumeEvents {
  readonly #volume: Volume;
  readonly #opts: JournalOptions;
  readonly #dir: string;
  #lines: string[] = [];
  /** Reads are the most frequent event by far: counted per object and written once per flush. */
  #reads = new Map<string, number>();
  /** The newest event time buffered, and appended. */
  #newest = 0;
  #journaled = 0;
  #segment: string;
  #segmentBytes = 0;
  #segmentOpened = Date.now();
  #sequence = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  readonly #startedAt = Date.now();
  /** Events appended to the volume so far, for the instance's counters. */
  eventsWritten = 0;
  /** Told to the fleet with every heartbeat: the basis of this instance's space gate. */
  summarySeen = 0;
  /** Told to the fleet with every heartbeat: the instances this instance's space gate counts. */
  counting: readonly string[] = [];
  onError: (err: Error) => void = () => {};

  constructor(volume: Volume, opts: JournalOptions) {
    this.#volume = volume;
    this.#opts = opts;
    this.#dir = journalDirOf(volume.dir, volume.instanceId);
    this.#segment = this.#nextSegmentName();
  }

  /** Creates the instance's journal directory and starts the flush timer. */
  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await this.#writeHeartbeat(false);
    this.#timer = setInterval(() => void this.flush(), this.#opts.flushMs);
    this.#timer.unref();
  }

  chunkWritten(v: ObjectVersion, name: string, bytes: number): void {
    const at = Date.now();
    this.#push(`C ${this.#volume.objectId(v)} ${etagName(v.etag)} ${name} ${bytes} ${at}`, at);
  }
  chunkRemoved(v: ObjectVersion, name: string, at: number): void {
    this.#push(`X ${this.#volume.objectId(v)} ${etagName(v.etag)} ${name} ${at}`, at);
  }
  versionRemoved(v: ObjectVersion, at: number): void {
    this.#push(`V ${this.#volume.objectId(v)} ${etagName(v.etag)} ${at}`, at);
  }
  objectDataRemoved(k: ObjectKey, at: number): void {
    this.#push(`O ${this.#volume.objectId(k)} ${at}`, at);
  }
  recordWritten(k: ObjectKey, bytes: number, source: ObjectRecord['source']): void {
    const at = Date.now();
    this.#push(`R ${this.#volume.objectId(k)} ${bytes} ${source} ${at}`, at);
  }
  recordRemoved(k: ObjectKey): void {
    const at = Date.now();
    this.#push(`D ${this.#volume.objectId(k)} ${at}`, at);
  }
  objectRead(k: ObjectKey): void {
    const id = this.#volume.objectId(k);
    this.#reads.set(id, (this.#reads.get(id) ?? 0) + 1);
  }

  /** Appends what is buffered; rotates the segment when it is big or old enough. Never rejects. */
  flush(rotate = false): Promise<void> {
    this.#flushing = this.#flushing
      .then(() => this.#flushNow(rotate))
      .catch((err: Error) => this.onError(err));
    return this.#flushing;
  }

  /** Flushes, closes the open segment and marks the instance stopped. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush(true);
    // Best effort on the way out: without the stopped mark the instance is taken for dead by age.
    await this.#writeHeartbeat(true).catch(() => {});
  }

  #push(line: string, at: number): void {
    this.#lines.push(line);
    this.#newest = Math.max(this.#newest, at);
  }

  async #flushNow(rotate: boolean): Promise<void> {
    const lines = this.#lines;
    this.#lines = [];
    const flushedAt = Date.now();
    // Reads carry no time of their own: they count from this flush (parseSegment).
    const newest = this.#reads.size > 0 ? Math.max(this.#newest, flushedAt) : this.#newest;
    for (const [id, count] of this.#reads) lines.push(`H ${id} ${count}`);
    this.#reads = new Map();
    const path = join(this.#dir, `${this.#segment}.open`);
    if (lines.length > 0) {
      const text = `T ${flushedAt}\n${lines.join('\n')}\n`;
      try {
        await appendFile(path, text, { mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // A sweep took the directory of an instance it thought dead: it is ours to recreate.
        await mkdir(this.#dir, { recursive: true, mode: 0o700 });
        await appendFile(path, text, { mode: 0o600 });
      }
      this.#segmentBytes += Buffer.byteLength(text);
      this.eventsWritten += lines.length;
      this.#journaled = newest;
    }
    const old = Date.now() - this.#segmentOpened >= this.#opts.segmentAgeMs;
    if (this.#segmentBytes > 0 && (rotate || old || this.#segmentBytes >= this.#opts.segmentBytes)) {
      await rename(path, join(this.#dir, `${this.#segment}.log`));
      this.#segment = this.#nextSegmentName();
      this.#segmentBytes = 0;
      this.#segmentOpened = Date.now();
    }
    await this.#writeHeartbeat(false);
  }

  #nextSegmentName(): string {
    this.#sequence += 1;
    // Sortable: the leader applies one instance's segments in the order they were written.
    return `${Date.now().toString().padStart(15, '0')}-${String(this.#sequence).padStart(6, '0')}`;
  }

  async #writeHeartbeat(stopped: boolean): Promise<void> {
    const beat: Heartbeat = {
      instance: this.#volume.instanceId,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      lastSeen: Date.now(),
      stopped,
      summarySeen: this.summarySeen,
      counting: [...this.counting],
      journaled: this.#journaled,
    };
    const path = join(this.#dir, HEARTBEAT_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(beat), { mode: 0o600 });
    await rename(tmp, path);
  }
}

export function journalDirOf(volumeDir: string, instance: string): string {
  return join(volumeDir, 'journal', instance);
}

/** Parses a segment's text; unknown or damaged lines (a torn tail after a crash) are skipped. */
export function parseSegment(text: string): { at: number; event: JournalEvent }[] {
  const out: { at: number; event: JournalEvent }[] = [];
  let at = 0;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const [tag, object] = f;
    if (tag === 'T') {
      const t = Number(f[1]);
      if (Number.isFinite(t)) at = t;
      continue;
    }
    if (object === undefined || object === '') continue;
    const event = eventOf(tag, object, f);
    // Every event but reads carries the time it happened; reads count from the flush that wrote them.
    const own = tag === 'H' ? null : Number(f[f.length - 1]);
    if (event) out.push({ at: own !== null && Number.isFinite(own) && own > 0 ? own : at, event });
  }
  return out;
}

function eventOf(tag: string | undefined, object: string, f: string[]): JournalEvent | null {
  const n = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  switch (tag) {
    case 'C': {
      const bytes = n(f[4]);
      return f[2] && f[3] && bytes !== null && f.length >= 6
        ? { kind: 'chunk', object, version: f[2], chunk: f[3], bytes }
        : null;
    }
    case 'X':
      return f[2] && f[3] && f.length >= 5
        ? { kind: 'chunk-removed', object, version: f[2], chunk: f[3] }
        : null;
    case 'V':
      return f[2] && f.length >= 4 ? { kind: 'version-removed', object, version: f[2] } : null;
    case 'O':
      return { kind: 'data-removed', object };
    case 'R': {
      const bytes = n(f[2]);
      const source = f[3];
      return bytes !== null && f.length >= 5 && (source === 'get' || source === 'head' || source === 'put')
        ? { kind: 'record', object, bytes, source }
        : null;
    }
    case 'D':
      return { kind: 'record-removed', object };
    case 'H': {
      const count = n(f[2]);
      return count !== null ? { kind: 'read', object, count } : null;
    }
    default:
      return null;
  }
}

export interface SegmentFile {
  instance: string;
  name: string;
  path: string;
  /** `.open` segments are still being written, unless their instance is dead. */
  open: boolean;
}

/** Every segment on the volume, per instance in the order written. */
export async function listSegments(volumeDir: string): Promise<SegmentFile[]> {
  const root = join(volumeDir, 'journal');
  const out: SegmentFile[] = [];
  for (const instance of await readdir(root).catch(() => [] as string[])) {
    const names = await readdir(join(root, instance)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!name.endsWith('.log') && !name.endsWith('.open')) continue;
      out.push({ instance, name, path: join(root, instance, name), open: name.endsWith('.open') });
    }
  }
  return out;
}

/** Heartbeats of every instance that has a journal directory. */
export async function readHeartbeats(volumeDir: string): Promise<Heartbeat[]> {
  const root = join(volumeDir, 'journal');
  const out: Heartbeat[] = [];
  for (const instance of await readdir(root).catch(() => [] as string[])) {
    const path = join(root, instance, HEARTBEAT_FILE);
    try {
      const beat = JSON.parse(await readFile(path, 'utf8')) as Heartbeat;
      if (typeof beat.lastSeen === 'number') out.push({ ...beat, instance });
    } catch {
      // A directory without a readable heartbeat: its instance died before writing one.
      const st = await stat(join(root, instance)).catch(() => null);
      if (st) {
        out.push({
          instance,
          host: '',
          pid: 0,
          startedAt: st.mtimeMs,
          lastSeen: st.mtimeMs,
          stopped: false,
        });
      }
    }
  }
  return out;
}
