// The in-memory origin's public shapes (memory-origin.ts): its options, its request log and its faults.

import type { OriginProfile } from './memory-origin-profile.js';
import type { PutOptions, StoredObject } from './memory-origin-s3.js';
import type { Uploads } from './memory-origin-writes.js';

/** Timing (memory-origin-profile.ts: loopback speed unless given) and what the origin holds. */
export interface MemoryOriginOptions extends OriginProfile {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default `['kura-test']`. */
  buckets?: string[];
  /** 304s carry neither ETag nor Last-Modified, as Ceph RGW's and s3rver's (docs/testing.md). */
  bareNotModified?: boolean;
  /** Serve unauthenticated requests instead of answering 403 AccessDenied. */
  allowAnonymous?: boolean;
  /** Users besides S3RVER (who may use every bucket), each allowed only the buckets it lists. */
  users?: readonly OriginUser[];
}

export interface OriginUser {
  accessKeyId: string;
  secretAccessKey: string;
  buckets: readonly string[];
}

export interface OriginLogEntry {
  method: string;
  rawUrl: string;
  rawHeaders: string[];
  /** Set when the response is over; 0 if the connection ended without an answer. */
  status: number;
  /** Body bytes handed to the socket (up to the cut, for a truncated answer). */
  bodyBytesSent: number;
  /** 'ok', or the S3 error code answered for a signature (or payload hash) that did not verify. */
  verdict: 'ok' | string;
  /** The injected fault this request met, if any. */
  fault?: OriginFault['kind'];
}

export type OriginFault =
  | { kind: 'status'; status: number; code?: string; count?: number }
  | { kind: 'truncate'; afterBytes: number; count?: number }
  | { kind: 'reset'; count?: number }
  /** The answer is decided when the request arrives, as S3 does, and sent `ms` later than usual. */
  | { kind: 'late'; ms: number; count?: number };

export interface MemoryOrigin {
  url: string;
  port: number;
  credentials: { accessKeyId: 'S3RVER'; secretAccessKey: 'S3RVER' };
  region: 'us-east-1';
  /** Every request in arrival order. A long benchmark may empty it (`requests.length = 0`) to bound memory. */
  requests: OriginLogEntry[];
  /** Multipart uploads in progress; tests may lower `minPartSize` or fail the next Complete. */
  uploads: Uploads;
  /** Stores an object (the bucket must exist); `partSizes` makes it a multipart object. */
  put(bucket: string, key: string, body: Buffer, opts?: PutOptions): StoredObject;
  get(bucket: string, key: string): StoredObject | undefined;
  delete(bucket: string, key: string): void;
  /**
   * A fault for the next `count` (default 1) matching GET/HEAD requests that verify. 'status', 'reset'
   * and 'late' meet any of them, before the object is looked up; 'truncate' only a GET answer with an
   * object body (headers with the full Content-Length, then `afterBytes` bytes, then the connection ends).
   */
  injectFault(fault: OriginFault): void;
  clearFaults(): void;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}
