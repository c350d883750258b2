// Test helpers to sign requests with the real SDK signer (@smithy/signature-v4) and send them byte for
// byte with node:http, so tests control the exact path, query, headers and body that go on the wire.

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';

/** SHA-256 (HMAC-SHA-256 when given a secret) for @smithy/signature-v4, from node:crypto. */
export class NodeSha256 implements Checksum {
  private readonly secret: Buffer | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : toBuffer(secret);
    this.hash = this.create();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface SignerOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
}

/** An S3 signer as the SDK configures it: the path is signed as sent (no second encoding). */
export function createS3Signer(opts: SignerOptions = {}): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region: opts.region ?? 'us-east-1',
    credentials: {
      accessKeyId: opts.accessKeyId ?? 'S3RVER',
      secretAccessKey: opts.secretAccessKey ?? 'S3RVER',
    },
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
}

/** RFC 3986 encoding as the SDK does it: encodeURIComponent plus `!'()*`. */
export function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The path-style request path for a key, encoded as the S3 SDK encodes it (`/` kept). */
export function s3Path(bucket: string, key = ''): string {
  return `/${uriEscape(bucket)}/${key.split('/').map(uriEscape).join('/')}`;
}

/** `?a=1&b=2` from a query object, values encoded as the SDK does; '' when empty. */
export function queryString(query: Record<string, string> = {}): string {
  const parts = Object.entries(query).map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export function sha256Hex(body: string | Uint8Array = ''): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface RequestSpec {
  method: string;
  /** The encoded path, as it goes on the wire and is signed. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface SignedRequest {
  method: string;
  /** Raw request target: path and encoded query. */
  rawUrl: string;
  /** Header list as [name, value, name, value...], Host first. */
  headers: string[];
  body: Buffer | undefined;
}

/**
 * Signs a request for `baseUrl` (http://host:port) in the Authorization header. The payload hash is the
 * body's SHA-256 unless `x-amz-content-sha256` is given.
 */
export async function signRequest(
  baseUrl: string,
  spec: RequestSpec,
  opts: SignerOptions & { signingDate?: Date; signableHeaders?: Set<string> } = {},
): Promise<SignedRequest> {
  const url = new URL(baseUrl);
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': sha256Hex(body ?? ''),
    ...(body && body.length > 0 ? { 'content-length': String(body.length) } : {}),
    ...spec.headers,
  };
  const signed = await createS3Signer(opts).sign(
    {
      method: spec.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: spec.path,
      query: spec.query ?? {},
      headers,
      body,
    },
    {
      signingDate: opts.signingDate ?? new Date(),
      ...(opts.signableHeaders ? { signableHeaders: opts.signableHeaders } : {}),
    },
  );
  return {
    method: spec.method,
    rawUrl: spec.path + queryString(spec.query),
    headers: Object.entries(signed.headers).flat(),
    body,
  };
}

/** A presigned URL's raw request target (path and query with the X-Amz-* parameters). */
export async function presign(
  baseUrl: string,
  spec: Omit<RequestSpec, 'body'>,
  opts: SignerOptions & { signingDate?: Date; expiresIn?: number } = {},
): Promise<string> {
  const url = new URL(baseUrl);
  const signed = await createS3Signer(opts).presign(
    {
      method: spec.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: spec.path,
      query: spec.query ?? {},
      // As the SDK's S3 presigner does: the payload is UNSIGNED-PAYLOAD, stated by a header that is
      // neither signed nor moved to the query (and not sent).
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...spec.headers },
    },
    {
      signingDate: opts.signingDate ?? new Date(),
      expiresIn: opts.expiresIn ?? 900,
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
    },
  );
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    if (typeof v === 'string') query[k] = v;
  }
  return spec.path + queryString(query);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends a request exactly as given (request target, header list in order, Host included) on a fresh
 * connection, and reads the whole response.
 */
export function sendRaw(
  baseUrl: string,
  req: { method: string; rawUrl: string; headers: string[]; body?: Uint8Array | undefined },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: req.method,
        path: req.rawUrl,
        headers: req.headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** The `<Code>` of an S3 XML error body, if any. */
export function errorCode(body: Buffer | string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body.toString())?.[1];
}

/** A copy of a flat header list with `name` (lower-case) set to `value`: replaced if present, else added. */
export function setHeader(headers: readonly string[], name: string, value: string): string[] {
  const out = [...headers];
  const i = out.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  if (i < 0) out.push(name, value);
  else out[i + 1] = value;
  return out;
}
