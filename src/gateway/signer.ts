// Kura signs the gateway's upstream requests itself (SigV4 with @smithy/signature-v4). The cache's states
// (src/cache/) build each request as they would a client's, adding at most Range and conditional headers;
// this sender signs the request as it leaves, so that a revalidation or a chunk fetch made minutes after
// the client arrived still carries a current signature.

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';
import type { UpstreamRequest, UpstreamResponse, UpstreamSender } from '../upstream/client.js';
import type { Route } from '../upstream/route.js';

/** SHA-256 of nothing: the payload hash of a request without a body. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Headers S3 must see signed; everything else the cache adds (Range, If-*) goes unsigned, as S3 allows. */
const SIGNED = new Set(['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']);

class NodeSha256 implements Checksum {
  readonly #secret: Buffer | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : toBuffer(secret);
    this.#hash = this.#create();
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#create();
  }

  #create(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export class SigningSender implements UpstreamSender {
  readonly #credentials: AwsCredentialIdentityProvider;
  readonly #region: string;
  /** Made at the first request: the signer's module stays out of a Kura without a gateway route. */
  #signer: Promise<SignatureV4> | null = null;

  constructor(
    readonly upstream: UpstreamSender,
    credentials: AwsCredentialIdentityProvider,
    region: string,
  ) {
    this.#credentials = credentials;
    this.#region = region;
  }

  #made(): Promise<SignatureV4> {
    this.#signer ??= import('@smithy/signature-v4').then(
      (m) =>
        new m.SignatureV4({
          service: 's3',
          region: this.#region,
          credentials: this.#credentials,
          sha256: NodeSha256,
          // S3 signs the path as sent: no second percent-encoding, no dot-segment normalisation.
          uriEscapePath: false,
          applyChecksum: false,
        }),
    );
    return this.#signer;
  }

  async send(route: Route, req: UpstreamRequest): Promise<UpstreamResponse> {
    return this.upstream.send(route, { ...req, headers: await this.sign(req) });
  }

  /** The request's headers with Authorization and the x-amz headers it covers; a client's never pass. */
  async sign(req: UpstreamRequest): Promise<string[]> {
    const toSign: Record<string, string> = {};
    const unsigned: string[] = [];
    for (let i = 0; i + 1 < req.headers.length; i += 2) {
      const name = (req.headers[i] as string).toLowerCase();
      const value = req.headers[i + 1] as string;
      if (name === 'authorization' || name.startsWith('x-amz-')) continue;
      if (SIGNED.has(name)) toSign[name] = value;
      else unsigned.push(name, value);
    }
    toSign['x-amz-content-sha256'] = req.body === null ? EMPTY_SHA256 : 'UNSIGNED-PAYLOAD';
    const q = req.path.indexOf('?');
    const path = q < 0 ? req.path : req.path.slice(0, q);
    const query: Record<string, string> = {};
    if (q >= 0) for (const [k, v] of new URLSearchParams(req.path.slice(q + 1))) query[k] = v;
    const signed = await (await this.#made()).sign({
      method: req.method,
      protocol: 'https:',
      hostname: toSign.host ?? '',
      path,
      query,
      headers: toSign,
    });
    const out: string[] = [];
    for (const [name, value] of Object.entries(signed.headers)) out.push(name, value);
    return out.concat(unsigned);
  }
}
