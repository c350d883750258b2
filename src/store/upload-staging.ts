// Multipart staging under `uploads/{uploadId}/`: what the upload was created with (`upload.json`) and
// each part's bytes as S3 accepted them. A part is written in this instance's temp area, then renamed to
// `{partNumber}.{etag name}.{crc32}.part`, so any instance that completes the upload can find it by the
// ETag the client lists and check its bytes; a re-sent part number replaces the earlier file.

import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '@node-rs/crc32';
import { unquote } from '../s3/multipart.js';
import { writeFileAtomic } from './atomic-file.js';
import { etagName, type Volume } from './volume.js';

/** What CreateMultipartUpload said about the object, kept until the upload completes or is aborted. */
export interface UploadMeta {
  namespace: string;
  bucket: string;
  key: string;
  /** The object's future GET headers known from the create request (s3/stored-headers.ts). */
  headers: [string, string][];
  createdAt: number;
}

export interface StagedPart {
  path: string;
  size: number;
  crc32: number;
}

/** Bytes a part writer may hold unwritten before it gives up: the upload never waits for the disk. */
const MAX_BEHIND = 16 * 1024 * 1024;

export class UploadStaging {
  readonly #volume: Volume;

  constructor(volume: Volume) {
    this.#volume = volume;
  }

  async saveUpload(uploadId: string, meta: UploadMeta): Promise<void> {
    await writeFileAtomic(
      this.#volume,
      join(this.#volume.uploadDir(uploadId), 'upload.json'),
      JSON.stringify(meta),
    );
  }

  /** null when the upload was not created through this volume (or its staging is gone). */
  async readUpload(uploadId: string): Promise<UploadMeta | null> {
    try {
      const meta = JSON.parse(await readFile(join(this.#volume.uploadDir(uploadId), 'upload.json'), 'utf8'));
      return isUploadMeta(meta) ? meta : null;
    } catch {
      return null;
    }
  }

  partWriter(uploadId: string, partNumber: number): PartWriter {
    return new PartWriter(this.#volume, this.#volume.uploadDir(uploadId), partNumber);
  }

  /** The staged bytes of part `partNumber` whose ETag is `etag`; null when none was staged. */
  async findPart(uploadId: string, partNumber: number, etag: string): Promise<StagedPart | null> {
    const dir = this.#volume.uploadDir(uploadId);
    const prefix = `${partNumber}.${etagName(unquote(etag))}.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return null;
    }
    const name = names.find((n) => n.startsWith(prefix) && n.endsWith('.part'));
    if (name === undefined) return null;
    const crc = Number.parseInt(name.slice(prefix.length, -'.part'.length), 16);
    if (!Number.isInteger(crc)) return null;
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    return info === null ? null : { path, size: info.size, crc32: crc };
  }

  /** Reads a staged part in order, checking its CRC32 at the end; rejects if the bytes changed. */
  async *readPart(part: StagedPart): AsyncGenerator<Buffer> {
    let crc = 0;
    let size = 0;
    for await (const data of createReadStream(part.path, {
      highWaterMark: 1024 * 1024,
    }) as AsyncIterable<Buffer>) {
      crc = crc32(data, crc);
      size += data.length;
      yield data;
    }
    if (crc !== part.crc32 || size !== part.size) throw new Error(`staged part ${part.path} is corrupt`);
  }

  async remove(uploadId: string): Promise<void> {
    await rm(this.#volume.uploadDir(uploadId), { recursive: true, force: true });
  }
}

/** Writes one part's bytes as they stream to S3; published only once S3 accepted the part. */
export class PartWriter {
  readonly #dir: string;
  readonly #partNumber: number;
  readonly #tmp: string;
  #out: WriteStream | null;
  #crc = 0;
  #size = 0;
  #failed: string | null = null;

  constructor(volume: Volume, dir: string, partNumber: number) {
    this.#dir = dir;
    this.#partNumber = partNumber;
    this.#tmp = volume.tmpFile();
    this.#out = createWriteStream(this.#tmp, { flags: 'wx', mode: 0o600 });
    this.#out.on('error', (err) => this.abandon(err.message));
  }

  /** Why the part is not being staged, or null while it is. */
  get failed(): string | null {
    return this.#failed;
  }

  write(data: Buffer): void {
    const out = this.#out;
    if (out === null) return;
    if (out.writableLength > MAX_BEHIND) {
      this.abandon('the volume is behind');
      return;
    }
    this.#crc = crc32(data, this.#crc);
    this.#size += data.length;
    out.write(data);
  }

  /** S3 accepted the part as `etag` and `expectedSize` bytes came: the staged file takes its name. */
  async publish(etag: string, expectedSize: number): Promise<boolean> {
    const out = this.#out;
    if (out === null || this.#failed !== null) return false;
    if (this.#size !== expectedSize) {
      this.abandon(`${this.#size} bytes staged, ${expectedSize} expected`);
      return false;
    }
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    const prefix = `${this.#partNumber}.`;
    const name = `${prefix}${etagName(unquote(etag))}.${this.#crc.toString(16)}.part`;
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await rename(this.#tmp, join(this.#dir, name));
    this.#out = null;
    // A re-sent part replaces the earlier one: only the ETag the client lists at completion counts.
    for (const other of await readdir(this.#dir)) {
      // Best effort: a stale copy is never read (completion takes the listed ETag's file) and goes with
      // the upload's directory.
      if (other.startsWith(prefix) && other !== name) await unlink(join(this.#dir, other)).catch(() => {});
    }
    return true;
  }

  abandon(reason: string): void {
    this.#failed ??= reason;
    const out = this.#out;
    this.#out = null;
    if (out === null) return;
    // The file may not be open yet: unlink only once the stream has closed, or it would come back.
    // Best effort: a temp file left in tmp/{instance}/ is removed at stop or by the temp-file sweep.
    out.once('close', () => void unlink(this.#tmp).catch(() => {}));
    out.destroy();
  }
}

function isUploadMeta(v: unknown): v is UploadMeta {
  const m = v as UploadMeta;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.namespace === 'string' &&
    typeof m.bucket === 'string' &&
    typeof m.key === 'string' &&
    Array.isArray(m.headers) &&
    typeof m.createdAt === 'number'
  );
}
