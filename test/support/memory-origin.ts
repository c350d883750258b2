// An in-memory S3 origin for Kura's cache tests and benchmarks. Like origin.ts it verifies every request's
// SigV4 signature from the raw bytes received; unlike s3rver it answers GET/HEAD the way Amazon S3 does
// (suffix ranges, 412 preconditions, partNumber, multipart ETags: see memory-origin-s3.ts), serves bodies
// straight from the stored Buffer, and can add first-byte latency, a bandwidth cap and faults. It accepts
// the permission changes Kura invalidates on (memory-origin-permissions.ts).

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerList } from './memory-origin-list.js';
import { permissionChange } from './memory-origin-permissions.js';
import { FirstByteDelays } from './memory-origin-profile.js';
import {
  type Answer,
  addressOf,
  answerRead,
  createEntry,
  errorXml,
  faultError,
  notImplemented,
  type PutOptions,
  type StoredEntry,
  type StoredObject,
  s3Error,
} from './memory-origin-s3.js';
import type {
  MemoryOrigin,
  MemoryOriginOptions,
  OriginFault,
  OriginLogEntry,
} from './memory-origin-types.js';
import { answerPut, Uploads } from './memory-origin-writes.js';
import { paceBody } from './pace-body.js';
import { parseQuery, splitUrl } from './sigv4-canonical.js';
import { VerdictMemo } from './verdict-memo.js';

export { type OriginProfile, S3_LIKE } from './memory-origin-profile.js';
export type { ObjectPart, PutOptions, StoredObject } from './memory-origin-s3.js';
export type {
  MemoryOrigin,
  MemoryOriginOptions,
  OriginFault,
  OriginLogEntry,
  OriginUser,
} from './memory-origin-types.js';

const REGION = 'us-east-1';

export async function startMemoryOrigin(opts: MemoryOriginOptions = {}): Promise<MemoryOrigin> {
  const origin = new InMemoryOrigin(opts);
  await origin.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return origin;
}

interface PutTarget {
  objects: Map<string, StoredEntry>;
  bucket: string;
  key: string;
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  entry: OriginLogEntry;
  timer?: NodeJS.Timeout | undefined;
  /** Added to the first-byte wait (a 'late' fault). */
  lateMs?: number;
}

class InMemoryOrigin implements MemoryOrigin {
  url = '';
  port = 0;
  readonly credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
  readonly region = 'us-east-1' as const;
  readonly requests: OriginLogEntry[] = [];
  readonly uploads = new Uploads();
  private readonly store = new Map<string, Map<string, StoredEntry>>();
  private readonly faults: { fault: OriginFault; left: number }[] = [];
  private readonly memo: VerdictMemo;
  /** The buckets each user besides S3RVER may use. */
  private readonly bucketsOf: ReadonlyMap<string, ReadonlySet<string>>;
  private readonly server: http.Server;
  private readonly delays: FirstByteDelays;
  private readonly bandwidth: number;
  private readonly bareNotModified: boolean;
  private readonly idPrefix = randomBytes(4).toString('hex').toUpperCase();
  private readonly hostPrefix = randomBytes(30).toString('base64');
  private counter = 0;
  private closing: Promise<void> | undefined;

  constructor(opts: MemoryOriginOptions) {
    for (const bucket of opts.buckets ?? ['kura-test']) this.store.set(bucket, new Map());
    const users = opts.users ?? [];
    this.memo = new VerdictMemo(
      opts.allowAnonymous === true,
      new Map(users.map((u) => [u.accessKeyId, u.secretAccessKey])),
    );
    this.bucketsOf = new Map(users.map((u) => [u.accessKeyId, new Set(u.buckets)]));
    this.delays = new FirstByteDelays(opts);
    this.bandwidth = opts.bandwidthBytesPerSec ?? 0;
    this.bareNotModified = opts.bareNotModified === true;
    this.server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 });
    this.server.on('request', (req, res) => this.onRequest(req, res, false));
    // Decide before the client sends its body, as S3 does: no 100 Continue for a request that fails auth.
    this.server.on('checkContinue', (req, res) => this.onRequest(req, res, true));
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  put(bucket: string, key: string, body: Buffer, opts?: PutOptions): StoredObject {
    const objects = this.store.get(bucket);
    if (!objects) throw new Error(`memory origin: no bucket ${bucket}`);
    const entry = createEntry(bucket, key, body, opts);
    objects.set(key, entry);
    return entry.object;
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.store.get(bucket)?.get(key)?.object;
  }

  delete(bucket: string, key: string): void {
    this.store.get(bucket)?.delete(key);
  }

  injectFault(fault: OriginFault): void {
    this.faults.push({ fault, left: fault.count ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Keep-alive connections (idle or not) would hold close() open: end them all.
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private takeFault(accept: (f: OriginFault) => boolean): OriginFault | undefined {
    if (this.faults.length === 0) return undefined;
    const i = this.faults.findIndex((f) => accept(f.fault));
    const found = this.faults[i];
    if (!found) return undefined;
    found.left -= 1;
    if (found.left <= 0) this.faults.splice(i, 1);
    return found.fault;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void {
    const method = req.method ?? '';
    const entry: OriginLogEntry = {
      method,
      rawUrl: req.url ?? '',
      rawHeaders: req.rawHeaders,
      status: 0,
      bodyBytesSent: 0,
      verdict: 'ok',
    };
    this.requests.push(entry);
    const ex: Exchange = { req, res, entry };
    res.once('close', () => {
      clearTimeout(ex.timer);
      entry.status = res.headersSent ? res.statusCode : 0;
    });

    const answer = this.route(ex, expectsContinue);
    if (answer) this.reply(ex, answer);
  }

  /** The answer to a request, or undefined when one will be sent later (a PUT, once its body is in). */
  private route(ex: Exchange, expectsContinue: boolean): Answer | 'reset' | undefined {
    const { req, res, entry } = ex;
    const method = entry.method;
    const verdict = this.memo.verify(entry);
    if (!verdict.ok) {
      entry.verdict = verdict.code;
      // With Expect: 100-continue the body never comes, and the connection cannot be reused with it unread.
      const close = expectsContinue ? ['Connection', 'close'] : [];
      return s3Error(verdict.status, verdict.code, verdict.message, {}, close);
    }

    if (method === 'GET' || method === 'HEAD') {
      const fault = this.takeFault((f) => f.kind !== 'truncate');
      if (fault) entry.fault = fault.kind;
      if (fault?.kind === 'status') return faultError(fault.status, fault.code);
      if (fault?.kind === 'reset') return 'reset';
      if (fault?.kind === 'late') ex.lateMs = fault.ms;
    }
    const { path, rawQuery } = splitUrl(entry.rawUrl);
    const address = addressOf(path, req.headers.host);
    if (!address) return notImplemented('service-level requests (ListBuckets)');
    const { bucket, key } = address;
    const objects = this.store.get(bucket);
    if (!objects) {
      return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    const allowed = this.bucketsOf.get(verdict.accessKeyId);
    if (allowed !== undefined && !allowed.has(bucket)) {
      return s3Error(
        403,
        'AccessDenied',
        'Access Denied',
        {},
        expectsContinue ? ['Connection', 'close'] : [],
      );
    }
    // A missing bucket, or one the user may not use, is known from the head too: only now may the client
    // send its body.
    if (expectsContinue) res.writeContinue();
    const permission = permissionChange(method, key, rawQuery, objects);
    if (permission) {
      // Answered once the request body (a policy, an ACL) is read, as S3 does.
      ex.req.on('error', () => ex.res.destroy());
      ex.req.once('end', () => this.reply(ex, permission));
      ex.req.resume();
      return undefined;
    }
    if (key === '') {
      if (method === 'GET') return answerList(bucket, objects, rawQuery);
      if (method !== 'HEAD') return notImplemented(`bucket-level ${method}`);
      return { status: 200, headers: ['x-amz-bucket-region', REGION] };
    }
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const answer = answerRead(objects.get(key), key, req.headers, rawQuery, verdict.anonymous === true);
        return answer.status === 304 && this.bareNotModified ? { status: 304, headers: [] } : answer;
      }
      case 'PUT':
      case 'POST':
        return this.onWrite(ex, { objects, bucket, key }, rawQuery, verdict.payloadHash);
      case 'DELETE': {
        const uploadId = queryValue(rawQuery, 'uploadId');
        if (uploadId !== undefined) return this.uploads.abort(uploadId);
        objects.delete(key);
        return { status: 204, headers: [] };
      }
      default: {
        const message = 'The specified method is not allowed against this resource.';
        return s3Error(405, 'MethodNotAllowed', message, { Method: method, ResourceType: 'OBJECT' });
      }
    }
  }

  /** PutObject and the multipart calls: the answer comes once the whole body is in. */
  private onWrite(
    ex: Exchange,
    target: PutTarget,
    rawQuery: string,
    payloadHash: string,
  ): Answer | undefined {
    const { req, entry } = ex;
    const query = parseQuery(rawQuery);
    const known = new Set(['x-id', 'uploads', 'uploadId', 'partNumber']);
    const param = query.find((p) => !known.has(p.name) && !/^x-amz-/i.test(p.name));
    if (param) return notImplemented(`${entry.method} with the query parameter ${param.name}`);
    if (req.headers['x-amz-copy-source'] !== undefined)
      return notImplemented('CopyObject and UploadPartCopy');
    const uploadId = queryValue(rawQuery, 'uploadId');
    const partNumber = queryValue(rawQuery, 'partNumber');
    const isCreate = query.some((p) => p.name === 'uploads');
    if (entry.method === 'POST' && !isCreate && uploadId === undefined)
      return notImplemented('POST without ?uploads or ?uploadId');
    if (entry.method === 'PUT' && (uploadId === undefined) !== (partNumber === undefined)) {
      return s3Error(400, 'InvalidRequest', 'UploadPart needs both partNumber and uploadId');
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => ex.res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let answer: Answer;
      if (isCreate) answer = this.uploads.create(target.bucket, target.key, req.headers);
      else if (entry.method === 'POST') {
        const done = this.uploads.complete(uploadId as string, body);
        if (done.stored && done.key !== undefined)
          this.store.get(done.stored.object.bucket)?.set(done.key, done.stored);
        answer = done.answer;
      } else if (uploadId !== undefined) {
        answer = this.uploads.part(uploadId, Number(partNumber), body, req.headers, payloadHash);
      } else {
        const put = answerPut(target.bucket, target.key, body, req.headers, payloadHash);
        if (put.stored) target.objects.set(target.key, put.stored);
        answer = put.answer;
      }
      if (answer.error?.code === 'XAmzContentSHA256Mismatch') entry.verdict = answer.error.code;
      this.reply(ex, answer);
    });
    return undefined;
  }

  /** Sends `answer` after the first-byte wait, unless the client has gone by then. */
  private reply(ex: Exchange, answer: Answer | 'reset'): void {
    const wait = this.delays.next() + (ex.lateMs ?? 0);
    if (wait <= 0) {
      this.send(ex, answer);
      return;
    }
    ex.timer = setTimeout(() => {
      ex.timer = undefined;
      if (!ex.res.destroyed) this.send(ex, answer);
    }, wait);
  }

  private send(ex: Exchange, answer: Answer | 'reset'): void {
    const { req, res, entry } = ex;
    if (answer === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    const { status, headers } = answer;
    this.counter += 1;
    const requestId = this.idPrefix + this.counter.toString(16).toUpperCase().padStart(8, '0');
    const hostId = this.hostPrefix + requestId;
    const head = entry.method === 'HEAD';
    // S3 sends no body for a HEAD error: the status code is all a client gets.
    const xml = answer.error && !head ? errorXml(answer, requestId, hostId) : undefined;
    if (answer.error) headers.push('Content-Type', 'application/xml');
    if (xml) headers.push('Content-Length', String(xml.length));
    else if (!answer.body && !answer.error && status !== 204 && status !== 304)
      headers.push('Content-Length', '0');
    // Node adds Date (and Connection, Keep-Alive) itself.
    headers.push('x-amz-request-id', requestId, 'x-amz-id-2', hostId, 'Server', 'AmazonS3');
    res.writeHead(status, headers);
    const body = xml ?? (head ? undefined : answer.body);
    if (!body) {
      res.end();
      return;
    }
    const cut = xml ? undefined : this.takeFault((f) => f.kind === 'truncate');
    if (cut?.kind === 'truncate') entry.fault = 'truncate';
    const stopAfter = cut?.kind === 'truncate' ? cut.afterBytes : undefined;
    if (stopAfter === undefined && (xml || this.bandwidth <= 0)) {
      entry.bodyBytesSent = body.length;
      res.end(body);
      return;
    }
    // HTTP/1.1 answers one request at a time per connection: a cap per answer is a cap per connection.
    paceBody(res, body, xml ? 0 : this.bandwidth, stopAfter, (n) => {
      entry.bodyBytesSent += n;
    });
  }
}

function queryValue(rawQuery: string, name: string): string | undefined {
  return parseQuery(rawQuery)
    .find((p) => p.name === name)
    ?.value.toString('utf8');
}
