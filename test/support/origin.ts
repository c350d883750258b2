// A real S3 origin for tests: s3rver (a third-party S3 implementation) behind a front that verifies every
// request's SigV4 signature from the raw bytes received, then forwards it to s3rver unchanged.
//
// s3rver alone accepts any signature, so it cannot prove that Kura forwards client-signed requests
// untouched; this front can: a re-encoded path, a changed query value or signed header, or a body that
// does not match its signed hash gets the 403/400 S3 would give.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import S3rver from 's3rver';
import { verifySigV4 } from './sigv4.js';

export interface OriginRequest {
  method: string;
  rawUrl: string;
  rawHeaders: string[];
  /** 'ok' when the request was forwarded to s3rver, else the S3 error code the front answered with. */
  verdict: 'ok' | string;
  /** Bytes of request body received (complete once the request's response has been sent). */
  bodyBytes: number;
  bodySha256: string;
}

export interface TestOrigin {
  /** http://HOST:PORT of the verifying front (HOST is 127.0.0.1 unless `host` was given). */
  url: string;
  port: number;
  /** The buckets created at start. */
  buckets: string[];
  credentials: { accessKeyId: 'S3RVER'; secretAccessKey: 'S3RVER' };
  region: 'us-east-1';
  /** Every request the front received, in arrival order. */
  requests: OriginRequest[];
  close(): Promise<void>;
}

export interface TestOriginOptions {
  /** Buckets to create; default `['kura-test']`. */
  buckets?: string[];
  /** Forward unauthenticated requests instead of answering 403 AccessDenied. */
  allowAnonymous?: boolean;
  /** s3rver's data directory, kept on close; default a fresh temporary directory, removed on close. */
  dir?: string;
  /** Address the front listens on; default 127.0.0.1. */
  host?: string;
  /** Port the front listens on; default 0 (any free port). */
  port?: number;
}

export const DEFAULT_BUCKET = 'kura-test';

const ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
// A body with a hex payload hash is held back up to this size and checked before s3rver sees any of it:
// s3rver writes straight into the object's file, so an aborted upload would leave a truncated object.
// Larger bodies stream, with their last chunk held until the hash checks out.
const HOLD_LIMIT = 8 * 1024 * 1024;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** True when startTestOrigin() gives Ceph RGW (KURA_TEST_ORIGIN=rgw), for its documented gaps. */
export function originIsRgw(): boolean {
  return process.env.KURA_TEST_ORIGIN === 'rgw';
}

export async function startTestOrigin(opts: TestOriginOptions = {}): Promise<TestOrigin> {
  const buckets = opts.buckets ?? [DEFAULT_BUCKET];
  // The same tests against a real S3 (test/e2e/rgw-suite.test.ts): Ceph RGW behind a counting front.
  if (originIsRgw()) {
    return (await import('./rgw-origin.js')).startRgwOrigin({ buckets });
  }
  assertLegacyProvider();
  const host = opts.host ?? '127.0.0.1';
  const ownDir = opts.dir === undefined;
  const directory = opts.dir ?? (await mkdtemp(join(tmpdir(), 'kura-origin-')));

  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  let s3Address: AddressInfo;
  try {
    // run() resolves to httpServer.address(), which carries the port picked for port 0.
    s3Address = await s3rver.run();
  } catch (err) {
    if (ownDir) await rm(directory, { recursive: true, force: true });
    throw err;
  }

  const agent = new http.Agent({ keepAlive: true });
  const requests: OriginRequest[] = [];
  const target = { host: s3Address.address, port: s3Address.port, agent };
  const server = http.createServer({ requestTimeout: 0 });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean) =>
    handleRequest(req, res, expectsContinue, {
      requests,
      target,
      allowAnonymous: opts.allowAnonymous === true,
    });
  server.on('request', (req, res) => handle(req, res, false));
  // Decide before the client sends its body, as S3 does: no 100 Continue for a request that fails auth.
  server.on('checkContinue', (req, res) => handle(req, res, true));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await closeS3rver(s3rver);
    if (ownDir) await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const frontClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections (idle or not) would hold close() open: end them all.
      server.closeAllConnections();
      agent.destroy();
      await frontClosed;
      await closeS3rver(s3rver);
      if (ownDir) await rm(directory, { recursive: true, force: true });
    })();
    return closing;
  };

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    buckets: [...buckets],
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    requests,
    close,
  };
}

async function closeS3rver(s3rver: S3rver): Promise<void> {
  const closed = s3rver.close();
  s3rver.httpServer?.closeAllConnections();
  await closed;
}

function assertLegacyProvider(): void {
  try {
    // The cipher s3rver uses for ListObjectsV2 continuation tokens.
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error(
      'startTestOrigin: s3rver needs the OpenSSL legacy provider (it uses DES for ListObjectsV2 ' +
        'continuation tokens, and paginated listings fail with 500 without it). Run node with ' +
        '--openssl-legacy-provider, e.g. NODE_OPTIONS=--openssl-legacy-provider node --test ...',
    );
  }
}

interface HandlerContext {
  requests: OriginRequest[];
  target: { host: string; port: number; agent: http.Agent };
  allowAnonymous: boolean;
}

function handleRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  expectsContinue: boolean,
  ctx: HandlerContext,
): void {
  const method = req.method ?? '';
  const record: OriginRequest = {
    method,
    rawUrl: req.url ?? '',
    rawHeaders: [...req.rawHeaders],
    verdict: 'ok',
    bodyBytes: 0,
    bodySha256: EMPTY_SHA256,
  };
  ctx.requests.push(record);

  const verdict = verifySigV4(record, (id) => (id === ACCESS_KEY ? ACCESS_KEY : undefined), new Date(), {
    allowAnonymous: ctx.allowAnonymous,
    region: REGION,
  });
  if (!verdict.ok) {
    record.verdict = verdict.code;
    if (expectsContinue) {
      // The client holds its body until 100 Continue, which it will not get; the connection cannot be
      // reused with an unread body on it.
      sendError(res, method, verdict.status, verdict.code, verdict.message, { connection: 'close' });
      return;
    }
    // Read the body first (it is recorded), so the connection stays usable.
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      record.bodyBytes += chunk.length;
    });
    req.on('end', () => {
      record.bodySha256 = hash.digest('hex');
      sendError(res, method, verdict.status, verdict.code, verdict.message);
    });
    req.on('error', () => res.destroy());
    return;
  }

  if (expectsContinue) res.writeContinue();
  forward(req, res, record, verdict.payloadHash, ctx);
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: OriginRequest,
  payloadHash: string,
  ctx: HandlerContext,
): void {
  const expectedHash = HEX_SHA256.test(payloadHash) ? payloadHash.toLowerCase() : undefined;
  let upstream: http.ClientRequest | undefined;
  let abandoned = false; // the front gave up on s3rver's answer (hash mismatch, client gone)
  let retried = false;

  res.on('close', () => {
    if (!res.writableFinished) {
      abandoned = true;
      upstream?.destroy();
    }
  });

  const start = (): http.ClientRequest => {
    const up = http.request({
      host: ctx.target.host,
      port: ctx.target.port,
      agent: ctx.target.agent,
      method: req.method,
      // The raw request target and raw header list (Host included, setHost off): nothing is re-encoded,
      // re-cased or reordered. Node only adds Connection: keep-alive, a hop-by-hop header.
      path: req.url,
      headers: [...req.rawHeaders],
      setHost: false,
    });
    up.on('response', (upRes) => {
      if (abandoned) {
        upRes.resume();
        return;
      }
      const headers: string[] = [];
      for (let i = 0; i + 1 < upRes.rawHeaders.length; i += 2) {
        const name = upRes.rawHeaders[i] ?? '';
        if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, upRes.rawHeaders[i + 1] ?? '');
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
      pipeline(upRes, res, (err) => {
        if (err) res.destroy();
      });
    });
    up.on('error', (err) => {
      if (abandoned) return;
      // Node's keep-alive race: s3rver closed an idle pooled socket just as this request reused it. A
      // GET or HEAD has no body to replay, so it is sent again once, as S3 clients do themselves.
      const bodiless = req.method === 'GET' || req.method === 'HEAD';
      if (
        bodiless &&
        up.reusedSocket &&
        !retried &&
        !res.headersSent &&
        (err as NodeJS.ErrnoException).code === 'ECONNRESET'
      ) {
        retried = true;
        start().end();
        return;
      }
      if (!res.headersSent) {
        sendError(res, record.method, 502, 'InternalError', `test origin: s3rver failed: ${err.message}`, {
          connection: 'close',
        });
      } else if (!res.writableFinished) {
        res.destroy();
      }
    });
    upstream = up;
    return up;
  };

  const write = async (up: http.ClientRequest, chunk: Buffer): Promise<void> => {
    if (up.destroyed || up.writableEnded) return; // s3rver has gone or answered: keep reading, drop
    if (up.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        up.off('drain', done);
        up.off('close', done);
        resolve();
      };
      up.on('drain', done);
      up.on('close', done);
    });
  };

  const pump = async (): Promise<void> => {
    const hash = createHash('sha256');
    let up = expectedHash ? undefined : start();
    const held: Buffer[] = [];
    let heldBytes = 0;
    let last: Buffer | undefined;
    for await (const data of req) {
      const chunk = data as Buffer;
      hash.update(chunk);
      record.bodyBytes += chunk.length;
      if (!expectedHash) {
        if (up) await write(up, chunk);
        continue;
      }
      if (!up) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes <= HOLD_LIMIT) continue;
        // Too big to hold: stream it, but keep the latest chunk back so s3rver cannot complete the
        // upload before the hash is known.
        up = start();
        last = held.pop();
        for (const c of held.splice(0)) await write(up, c);
        continue;
      }
      if (last) await write(up, last);
      last = chunk;
    }
    record.bodySha256 = hash.digest('hex');

    if (expectedHash && record.bodySha256 !== expectedHash) {
      record.verdict = 'XAmzContentSHA256Mismatch';
      abandoned = true;
      upstream?.destroy();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(
        res,
        record.method,
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        {},
        { ClientComputedContentSHA256: expectedHash, S3ComputedContentSHA256: record.bodySha256 },
      );
      return;
    }
    if (!up) {
      up = start();
      for (const c of held.splice(0)) await write(up, c);
    }
    if (last) await write(up, last);
    if (!up.destroyed && !up.writableEnded) up.end();
  };

  pump().catch(() => {
    // The client went away mid-body (or the socket failed): nothing to answer.
    abandoned = true;
    upstream?.destroy();
    res.destroy();
  });
}

function sendError(
  res: http.ServerResponse,
  method: string,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, string> = {},
): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const fields = Object.entries(extra)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  const body = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${fields}` +
      `<RequestId>${requestId}</RequestId></Error>`,
  );
  const head = method === 'HEAD';
  res.writeHead(status, {
    'content-type': 'application/xml',
    'x-amz-request-id': requestId,
    ...(head ? {} : { 'content-length': String(body.length) }),
    ...headers,
  });
  // S3 sends no body for HEAD errors; the status code is all a client gets.
  res.end(head ? undefined : body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
