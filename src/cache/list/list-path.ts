// ListObjects and ListObjectsV2 where a rule's list_ttl keeps listings (docs/caching.md, "Listings"):
// engines that query a data lake list its prefixes before every query, each time paying S3's latency.
//
// A listing answers from memory only the same query (parameters and the headers that change the answer)
// by the same credential, while it is younger than list_ttl and no write through Kura changed its bucket
// since its LIST was sent (listings.ts). Who may read it follows the rule's hit_auth: `signed` asks for a
// current signature by the access key S3 answered, `any` shares a listing between credentials, and `s3`
// keeps none. Everything else passes, as before.

import type { HitAuth } from '../../config/access.js';
import { headerValue } from '../../s3/headers.js';
import { isPresignParam, paramValue } from '../../s3/operation.js';
import { isSignatureCurrent } from '../../s3/signature-time.js';
import type { S3Request } from '../../s3/types.js';
import { type Cache, namespaceOf } from '../cache.js';
import { readAnswerBody } from '../exchange/answer-body.js';
import type { Exchange, Outcome, PassOptions } from '../exchange/exchange.js';
import { askS3, failed, relay } from '../exchange/origin-fetch.js';
import {
  type CacheOutcome,
  HIT_FRESH,
  MISS_NOT_STORED,
  MISS_STORED,
  pushXCache,
} from '../exchange/outcome.js';
import { pass } from '../exchange/pass.js';
import { sendHead } from '../exchange/reply.js';
import { forbidsStoring } from '../freshness.js';
import { isPerResponseHeader } from '../read/record-headers.js';
import { LISTING_MAX_BYTES, type Listing } from './listings.js';

/** Request headers that change what S3 lists, or whether it answers: part of a listing's identity. */
const ANSWER_HEADERS = [
  'x-amz-request-payer',
  'x-amz-expected-bucket-owner',
  'x-amz-optional-object-attributes',
];

export async function listPath(ex: Exchange, opts: PassOptions, cache: Cache): Promise<Outcome> {
  const { s3 } = ex;
  const bucket = s3.bucket as string;
  const rule = cache.rules.rules.ruleFor(bucket, paramValue(s3.query, 'prefix') ?? '');
  const now = Date.now();
  const credential = credentialOf(ex.hitAuth ?? rule.hitAuth, s3, ex.req.rawHeaders, now);
  if (rule.listTtl === 0 || credential === null) return pass(ex, opts);
  const namespace = namespaceOf(s3, ex.route);
  const owner = `${namespace}\n${bucket}\n${credential}\n`;
  const id = owner + identity(s3, ex.req.rawHeaders);
  const listings = cache.listings;

  // The mark is read after the request arrived: a write answered before then has changed it. It also
  // dates the LIST below, which leaves after this read.
  const markNow = await listings.mark(namespace, bucket);
  const kept = listings.get(id);
  if (kept !== undefined && now - kept.at < rule.listTtl && markNow === kept.mark) return replay(ex, kept);

  const mark = await listings.markForFill(namespace, bucket, markNow);
  const at = Date.now();
  const asked = await askS3(ex, opts);
  if (!asked.ok) return failed(ex, asked.error, undefined);
  const answer = asked.res;
  // A refusal ends what the credential's listings of the bucket vouched for, as it does for hits.
  if (answer.status === 401 || answer.status === 403) listings.dropPrefix(owner);
  const traffic = opts.traffic;
  const onBytes = traffic ? (n: number) => (traffic.passBytesFromS3 += n) : undefined;
  if (answer.status !== 200 || mark === null || forbidsStoring(answer.headers)) {
    return relay(ex, answer, answer.status === 200 ? MISS_NOT_STORED : undefined, onBytes ? { onBytes } : {});
  }
  let read: Awaited<ReturnType<typeof readAnswerBody>>;
  try {
    read = await readAnswerBody(answer.body, LISTING_MAX_BYTES);
  } catch (err) {
    ex.res.destroy();
    return { status: 200, error: `body: ${(err as Error).message}`, cache: MISS_NOT_STORED };
  }
  let outcome: CacheOutcome = MISS_NOT_STORED;
  if (read.bytes !== null) {
    listings.set(id, { headers: describing(answer.headers), body: read.bytes, mark, at });
    outcome = MISS_STORED;
  }
  return relay(ex, answer, outcome, { body: read.rest, ...(onBytes ? { onBytes } : {}) });
}

/** Whose listings a request may read under `level`; null: none (S3 must judge it). */
function credentialOf(
  level: HitAuth,
  s3: S3Request,
  rawHeaders: readonly string[],
  now: number,
): string | null {
  if (level === 's3') return null;
  if (level === 'any') return '*';
  const sig = s3.signature;
  if (sig.kind === 'anonymous') return 'anonymous';
  if (sig.kind === 'unreadable' || !isSignatureCurrent(sig, rawHeaders, now)) return null;
  return `key ${sig.accessKeyId}`;
}

/**
 * What S3 lists for this request: the query without its presigned-URL parameters, sorted (the SDKs and
 * presigners order them differently), and the headers that change the answer.
 */
function identity(s3: S3Request, rawHeaders: readonly string[]): string {
  const params = s3.query
    .filter((p) => !isPresignParam(p.name))
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(p.value)}`)
    .sort();
  const headers = ANSWER_HEADERS.map((name) => headerValue(rawHeaders, name) ?? '');
  return `${params.join('&')}\n${headers.join('\n')}`;
}

/** S3's headers that describe the listing itself, not this one response. */
function describing(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!isPerResponseHeader(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** A kept listing as the answer: S3's headers and bytes, this request's id, and its age (RFC 9111 §5.1). */
function replay(ex: Exchange, listing: Listing): Outcome {
  const headers: (string | number)[] = [...listing.headers];
  headers.push(
    'content-length',
    listing.body.length,
    'x-amz-request-id',
    ex.requestId,
    'age',
    Math.max(0, Math.floor((Date.now() - listing.at) / 1000)),
  );
  pushXCache(headers, HIT_FRESH);
  sendHead(ex, 200, headers);
  ex.res.end(listing.body);
  return { status: 200, cache: HIT_FRESH };
}
