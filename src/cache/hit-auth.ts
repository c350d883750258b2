// Who may read a fresh hit (`cache.hit_auth`, settable per rule; config/access.ts names the levels):
//   any     anyone who reaches Kura;
//   signed  a current signature (s3/signature-time.ts) whose access key S3 let read the bucket within the
//           rule's TTL, or an anonymous request for an object S3 served anonymously within it;
//   s3      nobody: S3 judges every hit (a revalidation, which costs no body when nothing changed).
// A request the level does not admit is revalidated with its own signature, so S3's verdict is its answer.
//
// The memo is learnt from S3's answers to the reads this process forwards, and shared with the other
// workers of its group (src/server/worker-group.ts relays each change). Another instance learns for
// itself, at the cost of one revalidation per access key and bucket.

import type { HitAuth } from '../config/access.js';
import { isSignatureCurrent } from '../s3/signature-time.js';
import type { S3Request, SignatureFacts } from '../s3/types.js';
import type { ObjectKey } from '../store/types.js';

/** Entries kept at most; the oldest are dropped first (each costs one revalidation to learn again). */
const MEMO_LIMIT = 100_000;

/** One change of the memo, as the other workers of the group are told it. */
export type HitAuthChange =
  | { kind: 'allowed'; memo: string; at: number }
  | { kind: 'refused'; memo: string }
  | { kind: 'bucket'; namespace: string; bucket: string };

export class HitAuthMemo {
  /** Memo key (memoKey) → when S3 last said yes, epoch ms. */
  readonly #allowedAt = new Map<string, number>();
  /** Told every change this process learns itself (not those it is told). */
  onChange: (change: HitAuthChange) => void = () => {};

  /**
   * Whether a hit of `key` may answer this request without asking S3: S3 must have said yes to its
   * credential within `within` ms (the rule's TTL for a fresh hit; TTL plus stale_if_error for stale).
   */
  mayServe(
    level: HitAuth,
    s3: S3Request,
    rawHeaders: readonly string[],
    key: ObjectKey,
    now: number,
    within: number,
  ): boolean {
    if (level === 'any') return true;
    if (level === 's3') return false;
    const sig = s3.signature;
    if (sig.kind !== 'anonymous' && !isSignatureCurrent(sig, rawHeaders, now)) return false;
    const memo = memoKey(sig, key);
    const at = memo === null ? undefined : this.#allowedAt.get(memo);
    return at !== undefined && now - at < within;
  }

  /**
   * S3 answered a request for `key` (its bucket, for bucket-level requests) made with `s3`'s credentials.
   * A read it allowed is remembered; a refusal forgets at once.
   */
  heard(s3: S3Request, key: ObjectKey, status: number, now: number): void {
    const memo = memoKey(s3.signature, key);
    if (memo === null) return;
    let change: HitAuthChange;
    if (status === 401 || status === 403) {
      change = { kind: 'refused', memo };
    } else {
      const read = s3.operation.name === 'GetObject' || s3.operation.name === 'HeadObject';
      const allowed = (status >= 200 && status <= 299) || status === 304;
      if (!read || !allowed) return;
      change = { kind: 'allowed', memo, at: now };
    }
    this.apply(change);
    this.onChange(change);
  }

  /** Forgets every credential's standing for a bucket: its permissions were just changed through Kura. */
  forgetBucket(namespace: string, bucket: string): void {
    const change: HitAuthChange = { kind: 'bucket', namespace, bucket };
    this.apply(change);
    this.onChange(change);
  }

  /** Applies a change, learnt here or by another worker of the group. */
  apply(change: HitAuthChange): void {
    if (change.kind === 'refused') {
      this.#allowedAt.delete(change.memo);
    } else if (change.kind === 'allowed') {
      this.#allowedAt.delete(change.memo);
      this.#allowedAt.set(change.memo, change.at);
      if (this.#allowedAt.size > MEMO_LIMIT) {
        const oldest = this.#allowedAt.keys().next().value;
        if (oldest !== undefined) this.#allowedAt.delete(oldest);
      }
    } else {
      const signed = `\n${change.namespace}\n${change.bucket}`;
      const anonymous = `anon\n${change.namespace}\n${change.bucket}\n`;
      for (const memo of this.#allowedAt.keys()) {
        if (memo.endsWith(signed) || memo.startsWith(anonymous)) this.#allowedAt.delete(memo);
      }
    }
  }
}

/**
 * Signed requests are remembered by access key and bucket; anonymous ones by object, since public access
 * is usually granted per object or prefix. null: nothing to remember (a signature Kura cannot read).
 */
function memoKey(sig: SignatureFacts, key: ObjectKey): string | null {
  if (sig.kind === 'unreadable') return null;
  if (sig.kind === 'anonymous') return `anon\n${key.namespace}\n${key.bucket}\n${key.key}`;
  return `key\n${sig.accessKeyId}\n${key.namespace}\n${key.bucket}`;
}
