// Where a gateway route's requests go, and how they look there. An AWS region is addressed the way the
// SDKs address it (virtual-hosted, path style for bucket names with dots, which TLS cannot cover); an
// override URL path style. The cache keys both exactly as it keys the same request from an S3 client
// (src/cache/cache.ts, namespaceOf), which is what lets the two modes share chunks and records.

import type { GatewayOrigin } from '../config/gateway.js';
import type { Route } from '../upstream/route.js';
import { encodeKeyPath } from './link.js';

export interface OriginTarget {
  route: Route;
  /** The Host header S3 sees. */
  host: string;
  /** The request path of an object, percent-encoded as S3 signs it: `base` then the encoded key. */
  pathOf(key: string): string;
  /** `/bucket/` (path style) or `/` (virtual-hosted). */
  base: string;
  region: string;
}

export function originTarget(origin: GatewayOrigin, bucket: string): OriginTarget {
  if (origin.kind === 'url') {
    return {
      route: { origin: origin.url, via: 'override', tlsVerify: origin.tlsVerify },
      host: new URL(origin.url).host,
      pathOf: (key) => `/${bucket}/${encodeKeyPath(key)}`,
      base: `/${bucket}/`,
      region: origin.region,
    };
  }
  const endpoint = `s3.${origin.region}.amazonaws.com`;
  const virtual = !bucket.includes('.');
  const host = virtual ? `${bucket}.${endpoint}` : endpoint;
  return {
    route: { origin: `https://${host}:443`, via: 's3', tlsVerify: true },
    host,
    pathOf: (key) => (virtual ? `/${encodeKeyPath(key)}` : `/${bucket}/${encodeKeyPath(key)}`),
    base: virtual ? '/' : `/${bucket}/`,
    region: origin.region,
  };
}
