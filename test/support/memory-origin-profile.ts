// How fast the in-memory origin (memory-origin.ts) answers: at loopback speed by default, or like S3 seen
// from a client in the same region. bench/README.md gives the model and where its figures come from.

/** Timing of an origin's answers. All fields default to 0 (loopback speed). */
export interface OriginProfile {
  /** Wait before each answer's headers, ms: the middle of the spread. */
  firstByteLatencyMs?: number;
  /** The first-byte wait is spread evenly over latency ± jitter (never below 0), ms. */
  firstByteJitterMs?: number;
  /** A fixed cost every request adds to its first-byte wait, whatever it asks (HEAD, LIST, errors), ms. */
  requestOverheadMs?: number;
  /** Cap on body bytes per second per connection (0 = unlimited). */
  bandwidthBytesPerSec?: number;
  /** Seed of the jitter's sequence, so that two origins of one run meet the same delays. Default 1. */
  seed?: number;
}

/**
 * S3 Standard as a client in the same region meets it, approximately: tens of milliseconds to the first
 * byte, about 90 MB/s on one connection, and a small fixed cost per request.
 */
export const S3_LIKE: Readonly<Required<Omit<OriginProfile, 'seed'>>> = {
  firstByteLatencyMs: 30,
  firstByteJitterMs: 10,
  requestOverheadMs: 2,
  bandwidthBytesPerSec: 90_000_000,
};

/** The first-byte waits of a profile, one per request, from a seeded generator (xorshift32). */
export class FirstByteDelays {
  private state: number;
  private readonly base: number;
  private readonly jitter: number;

  constructor(profile: OriginProfile) {
    this.state = (profile.seed ?? 1) >>> 0 || 1; // xorshift never leaves 0
    this.base = (profile.firstByteLatencyMs ?? 0) + (profile.requestOverheadMs ?? 0);
    this.jitter = profile.firstByteJitterMs ?? 0;
  }

  /** The next wait, ms (0 for a loopback-speed profile). */
  next(): number {
    if (this.jitter <= 0) return this.base;
    return Math.max(0, this.base + (this.random() * 2 - 1) * this.jitter);
  }

  /** Uniform in [0, 1). */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }
}
