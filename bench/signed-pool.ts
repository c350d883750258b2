// A lean S3 reader for the footer scan: SigV4-signed GETs (test/support/signing.ts) on a pool of kept-alive
// undici connections, as native engines read footers: little work per request besides the request itself,
// so that the scan's time is the origin's and the cache's, not a client library's.

import { Pool } from 'undici';
import { s3Path, signRequest } from '../test/support/signing.js';
import { BUCKET } from './data.js';

export class SignedPool {
  private readonly pool: Pool;

  constructor(
    private readonly endpoint: string,
    connections: number,
  ) {
    this.pool = new Pool(endpoint, { connections, pipelining: 1 });
  }

  /** A GET of `key` (or the bucket, with `query`), signed; its body, or an error naming the status. */
  async get(key: string, opts: { query?: Record<string, string>; range?: string } = {}): Promise<Buffer> {
    const signed = await signRequest(this.endpoint, {
      method: 'GET',
      path: s3Path(BUCKET, key),
      query: opts.query ?? {},
      headers: opts.range ? { range: opts.range } : {},
    });
    const res = await this.pool.request({ method: 'GET', path: signed.rawUrl, headers: signed.headers });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200 && res.statusCode !== 206)
      throw new Error(`GET ${key || '(listing)'}: ${res.statusCode} ${body.toString('utf8', 0, 200)}`);
    return body;
  }

  /** Every key under `prefix` with its size, from ListObjectsV2 pages. */
  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (token) query['continuation-token'] = token;
      const xml = (await this.get('', { query })).toString('utf8');
      for (const m of xml.matchAll(/<Contents>.*?<Key>(.*?)<\/Key>.*?<Size>(\d+)<\/Size>.*?<\/Contents>/gs))
        out.push({ key: unescapeXml(m[1] ?? ''), size: Number(m[2]) });
      token = /<NextContinuationToken>(.*?)<\/NextContinuationToken>/.exec(xml)?.[1];
    } while (token);
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function unescapeXml(text: string): string {
  return text.replace(/&(#(\d+)|amp|lt|gt|quot|apos);/g, (_, name: string, code?: string) =>
    code
      ? String.fromCharCode(Number(code))
      : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[name] ?? ''),
  );
}
