// The S3 request model: what Kura knows about a request before it decides anything.
// Pure data; the functions that build it live beside this file and do no I/O.

/** A request exactly as the listener received it: nothing decoded, nothing re-encoded. */
export interface RawRequest {
  /** The method token as sent (`GET`, `PUT`, …). */
  method: string;
  /** The request-target: origin-form (`/b/k?x`) or absolute-form (`http://host/b/k?x`). */
  target: string;
  /** Node's `rawHeaders`: `[name, value, name, value, …]`, case and order as sent, duplicates kept. */
  headers: readonly string[];
}

/** A validated Host: lower-cased name or address, IPv6 without brackets. */
export interface HostPort {
  hostname: string;
  port: number | null;
  kind: 'dns' | 'ipv4' | 'ipv6';
}

/**
 * Which S3 front door a request knocked on. `aws-other` is an AWS name that is not an S3 data endpoint
 * (STS, EC2, S3 Control, website endpoints…); `custom` is anything outside AWS (MinIO, a test origin).
 */
export type EndpointKind =
  | 'aws-s3'
  | 'aws-access-point'
  | 'aws-object-lambda'
  | 'aws-mrap'
  | 'aws-express'
  | 'aws-other'
  | 'custom';

export interface Endpoint {
  kind: EndpointKind;
  /** `virtual` when the bucket (or access point, MRAP alias) is named by the Host. */
  style: 'path' | 'virtual';
  /** Region named by the host, if any (`null` for the legacy global endpoint, MRAP and custom hosts). */
  region: string | null;
  dualstack: boolean;
  fips: boolean;
  accelerate: boolean;
}

export interface QueryParam {
  /** Percent-decoded name and value (`+` stays `+`, as S3 reads it). A bare `name` has value `''`. */
  name: string;
  value: string;
}

export type OperationName =
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'PutObjectAcl'
  | 'PutBucketAcl'
  | 'PutBucketPolicy'
  | 'DeleteBucketPolicy'
  | 'PutPublicAccessBlock'
  | 'DeletePublicAccessBlock'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'Other';

export interface Operation {
  name: OperationName;
  /** `partNumber` of GetObject/HeadObject/UploadPart/UploadPartCopy, validated 1..10000. */
  partNumber: number | null;
  uploadId: string | null;
  versionId: string | null;
}

export type SignatureFacts =
  | { kind: 'anonymous' }
  | SigV4Facts
  | {
      kind: 'sigv2';
      location: 'header' | 'query';
      accessKeyId: string;
      /** Presigned V2 URLs carry `Expires` (epoch seconds). */
      expiresAt: Date | null;
    }
  /** An Authorization header or presign query Kura cannot read: S3 will judge it (src/s3/signature.ts). */
  | { kind: 'unreadable'; reason: string };

export interface SigV4Facts {
  kind: 'sigv4' | 'sigv4a';
  location: 'header' | 'query';
  accessKeyId: string;
  /** `X-Amz-Date` (header, or query when presigned), else `Date`; `null` if absent or malformed. */
  date: Date | null;
  scope: {
    /** `YYYYMMDD` */
    date: string;
    /** `null` for SigV4A, whose scope has no region. */
    region: string | null;
    service: string;
  };
  /** SigV4A `X-Amz-Region-Set`, split on commas; `null` for SigV4. */
  regionSet: string[] | null;
  /** Lower-cased names from `SignedHeaders` / `X-Amz-SignedHeaders`. */
  signedHeaders: ReadonlySet<string>;
  /** Presigned only: date + `X-Amz-Expires` seconds. */
  expiresAt: Date | null;
  /** `x-amz-content-sha256` as sent (`UNSIGNED-PAYLOAD`, `STREAMING-…`, hex), or `null`. */
  payloadHash: string | null;
}

export interface S3Request {
  method: string;
  /** True when the request-target was absolute-form (an `HTTP_PROXY` client). */
  absoluteForm: boolean;
  /** The Host header value exactly as received. */
  hostHeader: string;
  host: HostPort;
  endpoint: Endpoint;
  /** Bucket name, access point `name-account`, Express bucket, or MRAP alias; `null` for the service. */
  bucket: string | null;
  /** Decoded object key; `null` for service- and bucket-level requests. */
  key: string | null;
  /** Path exactly as received (origin-form, without the query), e.g. `/bucket/a%20b`. */
  rawPath: string;
  /** Query exactly as received, without the `?`; `null` when there was no `?`. */
  rawQuery: string | null;
  query: readonly QueryParam[];
  operation: Operation;
  signature: SignatureFacts;
}

/** An error Kura answers itself, before or instead of asking S3. */
export interface S3ErrorSpec {
  status: number;
  code: string;
  message: string;
}

export type ByteRangeSpec =
  | { kind: 'bounded'; first: number; last: number }
  | { kind: 'from'; first: number }
  | { kind: 'suffix'; length: number };

export type RangeHeader =
  | { kind: 'single'; spec: ByteRangeSpec }
  | { kind: 'multiple'; specs: ByteRangeSpec[] }
  /** Syntactically invalid: RFC 9110 §14.2 lets a server ignore it, and S3 does. */
  | { kind: 'invalid' };

/** Inclusive byte positions of a range resolved against a representation's size. */
export interface ResolvedRange {
  start: number;
  end: number;
}
