// Real S3 clients through Kura and directly against Ceph RGW, side by side (test/clients/).
//
// One RGW bucket per client file. Each side writes under a prefix of its own: `kura/` through Kura,
// `direct/` straight at RGW. Kura's upstream is the counting front of rgw-origin.ts, which forwards each
// request untouched and records what went each way, so a test can say what a read through Kura cost RGW;
// the direct side goes to RGW itself and is not counted (the CRT client, which needs a proxy, is the
// exception: its direct side goes through the front, as a proxy that forwards untouched).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { AccessRecord } from '../../src/telemetry/access-log.js';
import { startTestKura, type TestKura } from './kura.js';
import { type RgwOrigin, type RgwRequest, startRgwOrigin } from './rgw-origin.js';

export type SideName = 'kura' | 'direct';

export interface Side {
  name: SideName;
  /** The S3 endpoint this side's client is given: Kura, or RGW itself. */
  endpoint: string;
  /** `kura/` or `direct/`: every key this side writes starts with it. */
  prefix: string;
}

/** What a client step ended with: 0, or the exit code, error code or errno code it failed with. */
export interface Outcome {
  code: number | string;
  /** stderr or the error message, for assertion messages. */
  detail?: string;
}

export const MiB = 2 ** 20;

export interface ClientMatrix {
  bucket: string;
  origin: RgwOrigin;
  kura: TestKura;
  /** A scratch directory, removed on close. */
  work: string;
  sides: Record<SideName, Side>;
  /** Source files: a small object (one PUT), a large one (multipart at 5 MiB parts), a directory tree. */
  files: { small: string; big: string; tree: string };
  data: { small: Buffer; big: Buffer; tree: Map<string, Buffer> };
  /** The object as RGW holds it (read straight from RGW, not counted). */
  stored(key: string): Promise<Buffer | null>;
  /** Keys and sizes under a prefix, straight from RGW. */
  storedList(prefix: string): Promise<Array<{ key: string; size: number }>>;
  close(): Promise<void>;
}

/** Tree files and their sizes: nested, and names that clients percent-encode each their own way. */
const TREE: Array<[string, number]> = [
  ['a.bin', 3_000],
  ['sub/b.bin', 5_000],
  ['sub/deeper/c d.txt', 700],
  ['sub/ü+~ (x)=&;.txt', 1_234],
];

/** The large object: more than one 5 MiB part (RGW's smallest part but the last) and not a multiple of it. */
const BIG_SIZE = 6 * MiB + 4_321;
const SMALL_SIZE = 100 * 1024;

export async function startClientMatrix(client: string): Promise<ClientMatrix> {
  const bucket = `clients-${client}`;
  const origin = await startRgwOrigin({ buckets: [bucket] });
  let kura: TestKura | undefined;
  try {
    kura = await startTestKura({ origin: origin.url });
  } catch (err) {
    await origin.close();
    throw err;
  }
  const work = await mkdtemp(join(tmpdir(), `kura-clients-${client}-`));
  const data = {
    small: randomBytes(SMALL_SIZE),
    big: randomBytes(BIG_SIZE),
    tree: new Map(TREE.map(([path, size]) => [path, randomBytes(size)])),
  };
  const files = {
    small: join(work, 'src', 'small.bin'),
    big: join(work, 'src', 'big.bin'),
    tree: join(work, 'tree'),
  };
  await mkdir(join(work, 'src'), { recursive: true });
  await writeFile(files.small, data.small);
  await writeFile(files.big, data.big);
  for (const [path, bytes] of data.tree) {
    await mkdir(join(files.tree, path, '..'), { recursive: true });
    await writeFile(join(files.tree, path), bytes);
  }
  const rgwDirect = origin.direct;
  return {
    bucket,
    origin,
    kura,
    work,
    sides: {
      kura: { name: 'kura', endpoint: kura.url, prefix: 'kura/' },
      direct: { name: 'direct', endpoint: origin.rgw.endpoint, prefix: 'direct/' },
    },
    files,
    data,
    stored: async (key) => {
      try {
        const res = await rgwDirect.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from((await res.Body?.transformToByteArray()) ?? []);
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return null;
        throw err;
      }
    },
    storedList: async (prefix) => {
      const out: Array<{ key: string; size: number }> = [];
      let token: string | undefined;
      for (let page = 0; page < 100; page++) {
        const res = await rgwDirect.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of res.Contents ?? []) out.push({ key: o.Key ?? '', size: o.Size ?? 0 });
        token = res.NextContinuationToken;
        if (!token) break;
      }
      return out;
    },
    close: async () => {
      await kura?.close();
      await origin.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export interface CommandResult extends Outcome {
  code: number | string;
  stdout: string;
  /** stdout as bytes, for commands that write an object's bytes there. */
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs a command to its end (bounded by `timeoutMs`, then SIGKILL) and never rejects for its exit code:
 * the code is what the matrix compares. A command that cannot start has the errno code as its code.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    let failed: string | null = null;
    child.on('error', (e: NodeJS.ErrnoException) => {
      failed = e.code ?? e.message;
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code: failed ?? status ?? `signal ${signal}`,
        stdout: stdoutBytes.toString(),
        stdoutBytes,
        stderr,
        detail: `${command} ${args.join(' ')}\n${stderr.trim().slice(-2_000)}`,
      });
    });
    // A command that exits without reading its input (fusermount) closes the pipe under this write: its
    // exit status, not an EPIPE thrown in the test process, says how it went.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Through Kura and direct, the client ended the same way. */
export function assertSameOutcome(what: string, kura: Outcome, direct: Outcome): void {
  assert.equal(
    kura.code,
    direct.code,
    `${what}: through Kura ${kura.code}, direct ${direct.code}\nKura: ${kura.detail ?? ''}\ndirect: ${direct.detail ?? ''}`,
  );
}

export function assertOk(what: string, outcome: Outcome): void {
  assert.equal(outcome.code, 0, `${what} failed (${outcome.code}): ${outcome.detail ?? ''}`);
}

/** The path part of a request target, origin-form or absolute-form (the CRT's direct side). */
function targetPath(rawUrl: string): { path: string; query: string } {
  const origin = rawUrl.startsWith('/') ? rawUrl : rawUrl.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const q = origin.indexOf('?');
  return q === -1 ? { path: origin, query: '' } : { path: origin.slice(0, q), query: origin.slice(q + 1) };
}

/** Query parameters of an object read itself (presigned, versions, parts), not of a sub-resource (?acl). */
const READ_PARAMS =
  /^(X-Amz-[A-Za-z-]+|AWSAccessKeyId|Signature|Expires|versionId|partNumber|response-[a-z-]+)$/;

function isObjectRead(r: RgwRequest, path: string): boolean {
  if (r.method !== 'GET' && r.method !== 'HEAD') return false;
  const target = targetPath(r.rawUrl);
  if (target.path !== path) return false;
  return target.query === '' || target.query.split('&').every((p) => READ_PARAMS.test(p.split('=')[0] ?? ''));
}

/** The path RGW sees for a key, encoded as the SDKs do (every byte but unreserved ones and `/`). */
export function objectPath(bucket: string, key: string): string {
  const encoded = key
    .split('/')
    .map((s) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
  return `/${bucket}/${encoded}`;
}

export interface ReadCost {
  /** Kura's access-log records of the step. */
  access: AccessRecord[];
  /** What reached RGW during the step. */
  origin: RgwRequest[];
  /** Body bytes RGW sent for reads of the object during the step. */
  objectBodyBytes: number;
}

/** Runs a step and reports what it cost RGW and how Kura answered. */
export async function measure<T>(
  m: ClientMatrix,
  key: string,
  step: () => Promise<T>,
): Promise<[T, ReadCost]> {
  const fromAccess = m.kura.access.length;
  const fromOrigin = m.origin.requests.length;
  const result = await step();
  // An access record is written when its answer ends, which a client may not wait for: wait until the
  // log has stopped growing (at most a second).
  let seen = -1;
  for (let i = 0; i < 40; i++) {
    const now = m.kura.access.length;
    if (now === seen && now > fromAccess) break;
    seen = now;
    await new Promise((r) => setTimeout(r, 25));
  }
  const origin = m.origin.requests.slice(fromOrigin);
  const path = objectPath(m.bucket, key);
  const objectBodyBytes = origin
    .filter((r) => isObjectRead(r, path))
    .reduce((n, r) => n + r.bodyBytesSent, 0);
  return [result, { access: m.kura.access.slice(fromAccess), origin, objectBodyBytes }];
}

/** Every GetObject/HeadObject Kura answered in the step was a HIT, there was a GetObject, and RGW sent no body byte. */
export function assertHit(what: string, key: string, cost: ReadCost): void {
  const reads = cost.access.filter(
    (r) => (r.operation === 'GetObject' || r.operation === 'HeadObject') && r.key === key,
  );
  const summary = reads.map((r) => `${r.method} ${r.range ?? ''} ${r.status} ${r.cache}`).join('; ');
  assert.ok(
    reads.some((r) => r.operation === 'GetObject'),
    `${what}: no GetObject of ${key} reached Kura (${summary})`,
  );
  assert.deepEqual(
    reads.filter((r) => r.cache !== 'HIT').map((r) => `${r.method} ${r.range ?? ''} ${r.status} ${r.cache}`),
    [],
    `${what}: reads of ${key} that were not hits`,
  );
  assert.equal(cost.objectBodyBytes, 0, `${what}: RGW sent ${cost.objectBodyBytes} body bytes of ${key}`);
}

/** Kura's operations for a key in a step (e.g. that an upload was multipart). */
export function operationsFor(cost: ReadCost, key: string): string[] {
  return cost.access.filter((r) => r.key === key).map((r) => r.operation);
}
