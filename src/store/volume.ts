// The shared volume: its manifest, its directories, and where each file of an object lives
// (docs/volume.md#layout).
// Every path the store touches comes from here, so this is also where a name from a request is checked
// before it can become part of a path.

import { createHash, randomBytes } from 'node:crypto';
import { appendFile, chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { isStorableBucket } from '../s3/bucket-name.js';
import { isSafeUploadId } from '../s3/multipart.js';
import { ALWAYS_ROOM, NO_VOLUME_EVENTS, type SpaceGate, type VolumeEvents } from './events.js';
import { LocalCalls, POOLED_CALLS, type VolumeCalls } from './fs-calls.js';
import { keyName } from './key-names.js';
import { isLocalFileSystem } from './local-fs.js';
import type { ObjectKey, ObjectVersion } from './types.js';

/** The volume's record change mark (change-mark.ts), relative to the volume's directory. */
export const CHANGE_MARK_FILE = join('state', 'record-changes');

export const VOLUME_FORMAT = 1;
export const MANIFEST_NAME = 'kura.json';
/** Chunk indexes and extents are u32 in chunk files; cells stay far below that so a chunk fits a Buffer. */
export const MAX_CHUNK_SIZE = 2 ** 30;

/** A volume that cannot be used, or a name that must never become a path. */
export class VolumeError extends Error {
  override name = 'VolumeError';
}

export interface VolumeManifest {
  format: number;
  chunkSize: number;
  createdAt: string;
}

export interface OpenVolumeOptions {
  /** The volume's root; created (mode 0700) when missing. */
  dir: string;
  /** The configured grid; a volume that already has one keeps its own. */
  chunkSize: number;
  /** Names this instance's temp directory; unique per process by default. */
  instanceId?: string;
  /** Whether the file system is this machine's own (local-fs.ts); found out when not given. */
  local?: boolean;
  /** Told when a synchronous metadata call held the event loop (fs-calls.ts, `LocalCalls`). */
  onSlowCall?: (call: string, ms: number) => void;
}

export class Volume {
  readonly dir: string;
  readonly instanceId: string;
  /** The grid every object on this volume is cut on, from the manifest. */
  readonly chunkSize: number;
  /** True when the manifest's grid differs from the configured one (which is then ignored). */
  readonly configuredChunkSizeIgnored: boolean;
  readonly createdAt: string;
  /** This instance's temp directory; every file is written here first, then renamed into place. */
  readonly tmpDir: string;
  /**
   * Told of every file the stores add, remove or read, so the journal sees every writer (the read path,
   * write-through, maintenance) without each one having to remember it. A no-op until a journal attaches.
   */
  events: VolumeEvents = NO_VOLUME_EVENTS;
  /** Asked before a chunk is written; always yes until capacity enforcement attaches. */
  space: SpaceGate = ALWAYS_ROOM;
  /** Whether the volume's file system is this machine's own (local-fs.ts). */
  readonly local: boolean;
  /**
   * The volume calls requests wait for: synchronous on a local volume (fs-calls.ts), unless one of them
   * held the event loop too long lately.
   */
  readonly calls: VolumeCalls;
  /** Hashes, record paths and object ids of the keys used last, by key; cleared whole when full. */
  readonly #places = new Map<string, Place>();

  constructor(
    dir: string,
    instanceId: string,
    manifest: VolumeManifest,
    configuredChunkSize: number,
    opts: Pick<OpenVolumeOptions, 'local' | 'onSlowCall'> = {},
  ) {
    const local = opts.local ?? isLocalFileSystem(dir);
    this.dir = dir;
    this.instanceId = instanceId;
    this.chunkSize = manifest.chunkSize;
    this.configuredChunkSizeIgnored = manifest.chunkSize !== configuredChunkSize;
    this.createdAt = manifest.createdAt;
    this.tmpDir = join(dir, 'tmp', instanceId);
    this.local = local;
    this.calls = local ? new LocalCalls(opts.onSlowCall) : POOLED_CALLS;
  }

  /** The object record of `k`'s current version. */
  recordPath(k: ObjectKey): string {
    return this.#place(k).recordPath;
  }

  /** `k`'s place on the volume relative to `objects/` and `data/`: `{bucket}/{h0:2}/{h2:4}/{h}`. */
  objectId(k: ObjectKey): string {
    return this.#place(k).objectId;
  }

  /**
   * Every hit needs its key's hash, record path and object id, and looks the last two up in maps: made
   * once per hot key (a SHA-256 and a path join), the same strings also keep the hash V8 computed for them.
   */
  #place(k: ObjectKey): Place {
    const name = keyName(k);
    const known = this.#places.get(name);
    if (known !== undefined) return known;
    const hash = keyHash(k);
    const objectId = `${k.bucket}/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
    const place: Place = {
      hash,
      objectId,
      recordPath: join(this.dir, 'objects', `${objectId}.json`),
      dataDir: join(this.dir, 'data', objectId),
      versions: new Map(),
    };
    if (this.#places.size >= RECENT_KEYS) this.#places.clear();
    this.#places.set(name, place);
    return place;
  }

  /**
   * Where `k`'s fetch leases go (leases.ts): `leases/{bucket}/{h0:2}`, one of the bucket's 256 shard
   * directories, each lease a file named after the key's hash, so that a cold read makes no directory of
   * its own.
   */
  leasePlace(k: ObjectKey): { shard: string; hash: string } {
    const { hash } = this.#place(k);
    return { shard: join(this.dir, 'leases', k.bucket, hash.slice(0, 2)), hash };
  }

  /**
   * When `k`'s record was last removed (invalidated, evicted, purged): a fill whose S3 answer is older
   * than that must not bring the record back (records.ts).
   */
  recordTombstonePath(k: ObjectKey): string {
    return this.recordPath(k).replace(/\.json$/, '.gone');
  }

  /** The directory holding every cached version of `k`. */
  objectDataDir(k: ObjectKey): string {
    return this.#place(k).dataDir;
  }

  /** `v`'s ETag as a directory name (`etagName`), under `data/` and `leases/`. */
  versionName(v: ObjectVersion): string {
    return this.#version(v).name;
  }

  /** The directory holding the chunks of one version. */
  versionDir(v: ObjectVersion): string {
    return this.#version(v).dir;
  }

  /**
   * What every chunk file of `v` carries in its header to say whose it is (`versionTagOf`). The buffer is
   * shared by every caller: read it, never write it.
   */
  versionTag(v: ObjectVersion): Buffer {
    return this.#version(v).tag;
  }

  /** A full chunk file, or the partial one (`.p`) that holds some extents of the cell. */
  chunkPath(v: ObjectVersion, index: number, partial: boolean): string {
    if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
      throw new VolumeError(`chunk index ${index} is not a u32`);
    }
    // The version's directory is already a normalized path and the name is digits: no join needed.
    return `${this.#version(v).dir}/${index}${partial ? '.p' : ''}`;
  }

  /**
   * Every chunk a hit or a fill touches needs its version's directory and tag: made once per version of a
   * hot key (a SHA-256 of the ETag and a path join) rather than once or twice per chunk.
   */
  #version(v: ObjectVersion): VersionPlace {
    const place = this.#place(v);
    const known = place.versions.get(v.etag);
    if (known !== undefined) return known;
    const name = etagName(v.etag);
    const version = { name, dir: join(place.dataDir, name), tag: versionTagOf(place.hash, name) };
    // A key rewritten many times keeps only its latest versions' places.
    if (place.versions.size >= VERSIONS_PER_KEY) place.versions.clear();
    place.versions.set(v.etag, version);
    return version;
  }

  /** The path proper-lockfile locks for updates of `k`'s record (the lock itself is a `.lock` next to it). */
  recordLockPath(k: ObjectKey): string {
    return this.recordLockPathOf(this.objectId(k));
  }

  /** The same, from an object id (`{bucket}/{h0:2}/{h2:4}/{h}`), for a record file that cannot be trusted to name its key. */
  recordLockPathOf(objectId: string): string {
    const parts = objectId.split('/');
    return join(this.dir, 'locks', 'records', parts[0] ?? '', parts[parts.length - 1] ?? '');
  }

  /** Where one multipart upload's parts are staged; the id comes from a request and is checked first. */
  uploadDir(uploadId: string): string {
    if (!isSafeUploadId(uploadId)) {
      throw new VolumeError(`upload id ${JSON.stringify(uploadId.slice(0, 64))} cannot name a directory`);
    }
    return join(this.dir, 'uploads', uploadId);
  }

  /** A path no other writer uses, in this instance's temp directory (same file system as its target). */
  tmpFile(): string {
    tmpCounter = (tmpCounter + 1) % Number.MAX_SAFE_INTEGER;
    return join(this.tmpDir, `${Date.now().toString(36)}-${tmpCounter.toString(36)}`);
  }
}

let tmpCounter = 0;

interface Place {
  hash: string;
  objectId: string;
  recordPath: string;
  dataDir: string;
  /** By ETag. */
  versions: Map<string, VersionPlace>;
}

interface VersionPlace {
  name: string;
  dir: string;
  tag: Buffer;
}

/**
 * The file name of a key. The namespace and bucket are hashed with the key so that two stores' buckets of
 * the same name, or two buckets whose names differ only in case on a case-insensitive file system, never
 * share a file. The key itself never appears in a path: it may hold any bytes.
 */
export function keyHash(k: ObjectKey): string {
  if (!isStorableBucket(k.bucket)) {
    throw new VolumeError(`bucket name ${JSON.stringify(k.bucket)} cannot be stored on the volume`);
  }
  return sha256Hex(`${k.namespace}\n${k.bucket}\n${k.key}`);
}

/** Keys whose places a volume remembers; cleared whole when full, which costs a hash per key to refill. */
const RECENT_KEYS = 10_000;
/** Versions whose places a key's place remembers. */
const VERSIONS_PER_KEY = 4;

/** An ETag as a directory name: quotes, slashes and length are S3's business, not the file system's. */
export function etagName(etag: string): string {
  return sha256Hex(etag).slice(0, 32);
}

/**
 * A version's tag from the two directory names its chunks live under: the key's hash and the ETag's
 * name, 8 bytes of each. A chunk file names its own place, so a file of another object or version moved
 * there is refused, and `kura cache verify` can check any chunk from its path alone.
 */
export function versionTagOf(objectHash: string, etagDir: string): Buffer {
  return Buffer.from(objectHash.slice(0, 16) + etagDir.slice(0, 16), 'hex');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function defaultInstanceId(): string {
  const raw = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  return sanitiseInstanceId(raw);
}

function sanitiseInstanceId(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]/g, '_');
  // `.` and `..` would name the tmp directory itself or its parent.
  return /^\.*$/.test(safe) ? `_${safe}` : safe;
}

/** Opens the volume at `opts.dir`, creating its directories and manifest on first use. */
export async function openVolume(opts: OpenVolumeOptions): Promise<Volume> {
  if (!Number.isInteger(opts.chunkSize) || opts.chunkSize < 1 || opts.chunkSize > MAX_CHUNK_SIZE) {
    throw new VolumeError(`chunk size ${opts.chunkSize} is not an integer in [1, ${MAX_CHUNK_SIZE}]`);
  }
  const dir = resolve(opts.dir);
  const instanceId = sanitiseInstanceId(opts.instanceId ?? defaultInstanceId());
  try {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    // The cache holds other principals' objects: only Kura's user may read it. An existing directory's
    // mode is the operator's choice.
    if (created !== undefined) await chmod(dir, 0o700);
    for (const sub of ['objects', 'data', 'locks', 'journal', 'state', 'leases', join('tmp', instanceId)]) {
      await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    // Created empty (an append of nothing changes no mark), so that records can be vouched for by it
    // before the first change (change-mark.ts).
    await appendFile(join(dir, CHANGE_MARK_FILE), '', { mode: 0o600 });
  } catch (err) {
    throw new VolumeError(`${dir}: cannot create the volume's directories: ${describe(err)}`, { cause: err });
  }
  const manifest = await establishManifest(dir, instanceId, opts.chunkSize);
  return new Volume(dir, instanceId, manifest, opts.chunkSize, opts);
}

/**
 * Writes the manifest if there is none, else reads it. `link` creates the name exclusively and is atomic
 * on NFSv4, so when several instances start on a fresh volume exactly one manifest wins, and no reader
 * ever sees a half-written one.
 */
async function establishManifest(
  dir: string,
  instanceId: string,
  chunkSize: number,
): Promise<VolumeManifest> {
  const path = join(dir, MANIFEST_NAME);
  const mine: VolumeManifest = { format: VOLUME_FORMAT, chunkSize, createdAt: new Date().toISOString() };
  const tmp = join(dir, 'tmp', instanceId, `${MANIFEST_NAME}.${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o600 });
    await link(tmp, path);
    return mine;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new VolumeError(`${path}: cannot write the volume manifest: ${describe(err)}`, { cause: err });
    }
  } finally {
    // Best effort: the temp name goes whether the link was made or not; one left in tmp/{instance}/ is
    // removed at stop or by the temp-file sweep.
    await unlink(tmp).catch(() => {});
  }
  return readManifest(path);
}

export async function readManifest(path: string): Promise<VolumeManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VolumeError(`${path}: cannot read the volume manifest: ${describe(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VolumeError(`${path}: the volume manifest is not JSON; it is damaged or not Kura's`);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new VolumeError(`${path}: the volume manifest is not a JSON object; it is damaged or not Kura's`);
  }
  const m = parsed as Record<string, unknown>;
  if (m.format !== VOLUME_FORMAT) {
    throw new VolumeError(
      `${path}: volume format ${JSON.stringify(m.format)} is not one this Kura reads (format ${VOLUME_FORMAT}); ` +
        'use a new cache.dir or a newer Kura',
    );
  }
  const chunkSize = m.chunkSize;
  if (
    typeof chunkSize !== 'number' ||
    !Number.isInteger(chunkSize) ||
    chunkSize < 1 ||
    chunkSize > MAX_CHUNK_SIZE
  ) {
    throw new VolumeError(
      `${path}: the volume manifest's chunkSize ${JSON.stringify(chunkSize)} is not valid`,
    );
  }
  const createdAt = typeof m.createdAt === 'string' ? m.createdAt : '';
  return { format: VOLUME_FORMAT, chunkSize, createdAt };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
