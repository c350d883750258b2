// Which S3 front door a Host names, and the bucket it names when virtual-hosted. Patterns come from the
// S3 user guide: "Virtual hosting of buckets", "Dual-stack endpoints", "Access points", "Multi-Region
// Access Points", "Object Lambda", "Transfer Acceleration" and "Regional and Zonal endpoints for
// directory buckets". A name that fits none of them is `aws-other`: Kura forwards it and never caches.
import type { Endpoint, EndpointKind, HostPort } from './types.js';

export interface ClassifiedEndpoint {
  endpoint: Endpoint;
  /** The bucket (access point `name-account`, MRAP alias, Express bucket) named by the Host. */
  bucket: string | null;
}

const AWS_DOMAINS = ['amazonaws.com', 'amazonaws.com.cn'] as const;

/** `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1`… */
const REGION = /^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$/;

/** Service labels that front objects in a region (`*-fips` variants share the same shape). */
const REGIONAL_SERVICES: Readonly<Record<string, { kind: EndpointKind; fips: boolean }>> = {
  s3: { kind: 'aws-s3', fips: false },
  's3-fips': { kind: 'aws-s3', fips: true },
  's3-accesspoint': { kind: 'aws-access-point', fips: false },
  's3-accesspoint-fips': { kind: 'aws-access-point', fips: true },
  's3-object-lambda': { kind: 'aws-object-lambda', fips: false },
  's3-object-lambda-fips': { kind: 'aws-object-lambda', fips: true },
};

/** Kinds whose Host names exactly one access point label (`name-account`), never a dotted bucket. */
const SINGLE_LABEL_KINDS: ReadonlySet<EndpointKind> = new Set(['aws-access-point', 'aws-object-lambda']);

export function classifyEndpoint(host: HostPort): ClassifiedEndpoint {
  const labels = host.kind === 'dns' ? awsLabels(host.hostname) : null;
  if (labels === null) return { endpoint: endpoint('custom', 'path', null), bucket: null };
  return (
    classifyAccelerate(labels) ??
    classifyMultiRegion(labels) ??
    classifyLegacyDash(labels) ??
    classifyRegional(labels) ?? { endpoint: endpoint('aws-other', 'path', null), bucket: null }
  );
}

/** The labels in front of `amazonaws.com[.cn]`, or `null` when the name is not under AWS. */
function awsLabels(hostname: string): string[] | null {
  for (const domain of AWS_DOMAINS) {
    if (hostname === domain) return [];
    if (hostname.endsWith(`.${domain}`)) return hostname.slice(0, -domain.length - 1).split('.');
  }
  return null;
}

function endpoint(
  kind: EndpointKind,
  style: Endpoint['style'],
  region: string | null,
  flags: Partial<Pick<Endpoint, 'dualstack' | 'fips' | 'accelerate'>> = {},
): Endpoint {
  return {
    kind,
    style,
    region,
    dualstack: flags.dualstack ?? false,
    fips: flags.fips ?? false,
    accelerate: flags.accelerate ?? false,
  };
}

/** Virtual style when labels name a bucket in front of the service labels, else path style. */
function withBucket(prefix: readonly string[], make: (style: Endpoint['style']) => Endpoint) {
  const bucket = prefix.length > 0 ? prefix.join('.') : null;
  return { endpoint: make(bucket === null ? 'path' : 'virtual'), bucket };
}

/** `bucket.s3-accelerate[.dualstack].amazonaws.com`: the dualstack label follows the service here. */
function classifyAccelerate(labels: readonly string[]): ClassifiedEndpoint | null {
  const dualstack = labels[labels.length - 1] === 'dualstack';
  const serviceAt = labels.length - (dualstack ? 2 : 1);
  if (labels[serviceAt] !== 's3-accelerate') return null;
  return withBucket(labels.slice(0, serviceAt), (style) =>
    endpoint('aws-s3', style, null, { dualstack, accelerate: true }),
  );
}

/** `ALIAS.mrap.accesspoint.s3-global.amazonaws.com`; S3 knows the bucket as `ALIAS.mrap`. */
function classifyMultiRegion(labels: readonly string[]): ClassifiedEndpoint | null {
  if (labels.length !== 4 || labels[3] !== 's3-global') return null;
  if (labels[1] !== 'mrap' || labels[2] !== 'accesspoint') return null;
  return { endpoint: endpoint('aws-mrap', 'virtual', null), bucket: `${labels[0]}.mrap` };
}

/** Legacy forms without a region label: `s3.amazonaws.com`, `s3-REGION`, `s3-fips-REGION`, `s3-external-1`. */
function classifyLegacyDash(labels: readonly string[]): ClassifiedEndpoint | null {
  const service = labels[labels.length - 1] ?? '';
  const prefix = labels.slice(0, -1);
  if (service === 's3') return withBucket(prefix, (style) => endpoint('aws-s3', style, null));
  // `s3-external-1` is the old name of the us-east-1 endpoint outside the global one.
  if (service === 's3-external-1') {
    return withBucket(prefix, (style) => endpoint('aws-s3', style, 'us-east-1'));
  }
  const fips = service.startsWith('s3-fips-');
  const region = service.slice(fips ? 's3-fips-'.length : 's3-'.length);
  if (!service.startsWith('s3-') || !REGION.test(region)) return null;
  return withBucket(prefix, (style) => endpoint('aws-s3', style, region, { fips }));
}

/** `[bucket.]SERVICE[.dualstack].REGION.amazonaws.com` for S3, access points, Object Lambda and Express. */
function classifyRegional(labels: readonly string[]): ClassifiedEndpoint | null {
  const region = labels[labels.length - 1] ?? '';
  if (!REGION.test(region)) return null;
  const dualstack = labels[labels.length - 2] === 'dualstack';
  const serviceAt = labels.length - (dualstack ? 3 : 2);
  const service = labels[serviceAt];
  const prefix = labels.slice(0, Math.max(serviceAt, 0));
  if (service === undefined) return null;
  const express = classifyExpress(service, prefix, region, dualstack);
  if (express !== undefined) return express;
  const known = REGIONAL_SERVICES[service];
  if (known === undefined) return null;
  if (SINGLE_LABEL_KINDS.has(known.kind) && prefix.length !== 1) return null;
  return withBucket(prefix, (style) => endpoint(known.kind, style, region, { dualstack, fips: known.fips }));
}

/**
 * S3 Express One Zone: zonal `[BUCKET--AZID--x-s3.]s3express[-fips]-AZID[.dualstack].REGION` carries
 * objects (virtual-hosted only); regional `s3express-control[-dualstack].REGION` carries bucket-level
 * calls, path style. `undefined` when the service label is not Express at all.
 */
function classifyExpress(
  service: string,
  prefix: readonly string[],
  region: string,
  dualstack: boolean,
): ClassifiedEndpoint | null | undefined {
  if (!service.startsWith('s3express-')) return undefined;
  if (service === 's3express-control' || service === 's3express-control-dualstack') {
    if (prefix.length > 0 || dualstack) return null;
    const flags = { dualstack: service.endsWith('-dualstack') };
    return { endpoint: endpoint('aws-express', 'path', region, flags), bucket: null };
  }
  const fips = service.startsWith('s3express-fips-');
  return withBucket(prefix, (style) => endpoint('aws-express', style, region, { dualstack, fips }));
}
