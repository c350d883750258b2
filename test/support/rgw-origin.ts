// Ceph RGW as a test origin: a front on loopback that forwards every request to RGW untouched (method,
// raw target, raw headers, body; `Expect: 100-continue` decided by RGW) and records what went each way, so
// tests prove what traffic reached S3 as they do with the other origins. RGW checks the signatures itself.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_BUCKET, type OriginRequest, type TestOrigin } from './origin.js';
import { type Rgw, removeBuckets, useRgw } from './rgw.js';

export interface RgwRequest extends OriginRequest {
  /** RGW's status; 0 until the answer is over (or when the connection ended without one). */
  status: number;
  /** Body bytes RGW sent in its answer. */
  bodyBytesSent: number;
}

export interface RgwOrigin extends TestOrigin {
  requests: RgwRequest[];
  rgw: Rgw;
  /** An SDK client straight to RGW (not counted), as the main user. */
  direct: S3Client;
  /** Stores an object straight at RGW (not counted), as the memory origin's put() does. */
  put(
    bucket: string,
    key: string,
    body: Buffer,
    opts?: { contentType?: string; metadata?: Record<string, string> },
  ): Promise<{ etag: string }>;
}

// Errors that say RGW refused the request itself, as the verifying front of origin.ts would.
const AUTH_ERRORS = new Set([
  'AccessDenied',
  'AuthorizationHeaderMalformed',
  'AuthorizationQueryParametersError',
  'InvalidAccessKeyId',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
  'XAmzContentSHA256Mismatch',
  'BadDigest',
]);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/**
 * Buckets are created at start and removed, with their objects, on close: name them for the file when
 * files using RGW may run at once (RGW is shared by the whole test run).
 */
export async function startRgwOrigin(opts: { buckets?: string[] } = {}): Promise<RgwOrigin> {
  const rgw = await useRgw();
  const buckets = opts.buckets ?? [DEFAULT_BUCKET];
  const direct = new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: rgw.credentials,
  });
  await removeBuckets(rgw, buckets);
  for (const bucket of buckets) await direct.send(new CreateBucketCommand({ Bucket: bucket }));

  const target = new URL(rgw.endpoint);
  const agent = new http.Agent({ keepAlive: true });
  const requests: RgwRequest[] = [];
  const server = http.createServer({ requestTimeout: 0 });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry: RgwRequest = {
      method: req.method ?? '',
      rawUrl: req.url ?? '',
      rawHeaders: [...req.rawHeaders],
      verdict: 'ok',
      bodyBytes: 0,
      bodySha256: '',
      status: 0,
      bodyBytesSent: 0,
    };
    requests.push(entry);
    const hash = createHash('sha256');
    const headers: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, req.rawHeaders[i + 1] as string);
    }
    const up = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      setHost: false,
      agent,
    });
    const expectsContinue = /100-continue/i.test(String(req.headers.expect ?? ''));
    const sendBody = () => {
      req.on('data', (chunk: Buffer) => {
        entry.bodyBytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        entry.bodySha256 = hash.digest('hex');
      });
      req.pipe(up);
    };
    if (expectsContinue) {
      up.once('continue', () => {
        res.writeContinue();
        sendBody();
      });
      up.flushHeaders();
    } else sendBody();
    up.on('response', (answer) => {
      entry.status = answer.statusCode ?? 0;
      const out: string[] = [];
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        const name = answer.rawHeaders[i] as string;
        if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, answer.rawHeaders[i + 1] as string);
      }
      res.writeHead(entry.status, answer.statusMessage, out);
      const errorText: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => {
        entry.bodyBytesSent += chunk.length;
        if (entry.status >= 400 && entry.bodyBytesSent <= 64 * 1024) errorText.push(chunk);
      });
      answer.on('end', () => {
        const code = /<Code>([^<]+)<\/Code>/.exec(Buffer.concat(errorText).toString('utf8'))?.[1];
        if (code !== undefined && AUTH_ERRORS.has(code)) entry.verdict = code;
      });
      answer.pipe(res);
      // A refused upload: what the client has not sent yet is not waited for.
      if (expectsContinue) answer.once('end', () => req.resume());
    });
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
  };
  server.on('request', handle);
  server.on('checkContinue', handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    buckets: [...buckets],
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    requests,
    rgw,
    direct,
    put: async (bucket, key, body, putOpts = {}) => {
      const put = await direct.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: putOpts.contentType,
          Metadata: putOpts.metadata,
        }),
      );
      return { etag: put.ETag ?? '' };
    },
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        agent.destroy();
        await closed;
        direct.destroy();
        await removeBuckets(rgw, buckets);
        await rgw.release();
      })();
      return closing;
    },
  };
}
