// The plumbing every state of src/cache shares: one client request with its response (the exchange),
// how S3 is reached for it, and what came of it. States take these; none of them owns them.

import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HitAuth } from '../../config/access.js';
import type { S3Request } from '../../s3/types.js';
import type { UpstreamSender } from '../../upstream/client.js';
import type { Route } from '../../upstream/route.js';
import type { CacheOutcome } from './outcome.js';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  s3: S3Request;
  route: Route;
  requestId: string;
  /** Emits 'abort' when the client goes away, which aborts the upstream request with it. */
  signal: EventEmitter;
  /** When the response head went out (performance.now()), set by sendHead: the access log's ttfb. */
  headAt?: number;
  /**
   * Set by a caller that authorized the client itself (the gateway, which signs for its routes): who may
   * read a fresh hit, in place of the rule's hit_auth.
   */
  hitAuth?: HitAuth;
}

export interface PassOptions {
  /** The upstream client, or one that signs each request first (the gateway's, src/gateway/). */
  upstream: UpstreamSender;
  identify: { name: string; value: string } | null;
  /** Counts the body bytes of S3 answers passed on. */
  traffic?: { passBytesFromS3: number };
  /** Told the status of every answer S3 gives (the hit authorization memo learns from them). */
  heard?: (ex: Exchange, status: number) => void;
}

/**
 * What happened, for the access log and the counters: `error` names why the exchange did not complete
 * normally; `cache` is what the cache did with a GetObject or HeadObject (outcome.ts).
 */
export interface Outcome {
  status: number;
  error?: string;
  cache?: CacheOutcome;
}
