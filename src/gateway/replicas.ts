// Replicas of a route's bucket, tried in priority order, each behind a circuit breaker of its own
// (docs/gateway.md, Replicas). The cache keeps keying the object by the route's first origin, whichever
// copy answered, so a failover neither empties the cache nor splits it: the copies are the same objects.

import type { GatewayBreaker } from '../config/gateway.js';
import type { UpstreamRequest, UpstreamResponse, UpstreamSender } from '../upstream/client.js';
import type { Route } from '../upstream/route.js';
import type { OriginTarget } from './origin.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Closed: requests go. `failures` in a row (no answer, or 5xx) open it: requests skip the origin for
 * `openMs`. Then it is half-open: one probe request goes; its success closes it, its failure opens it
 * again.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probing = false;
  /** Times it opened, for the metrics. */
  opened = 0;

  constructor(
    readonly origin: string,
    readonly opts: GatewayBreaker,
  ) {}

  /** Whether a request may try the origin now; a yes in half-open state is the one probe. */
  allow(now: number): boolean {
    if (this.state === 'open' && now - this.#openedAt >= this.opts.openMs) {
      this.state = 'half-open';
      this.#probing = false;
    }
    if (this.state === 'closed') return true;
    if (this.state === 'half-open' && !this.#probing) {
      this.#probing = true;
      return true;
    }
    return false;
  }

  succeeded(): void {
    this.state = 'closed';
    this.#failures = 0;
    this.#probing = false;
  }

  failed(now: number): void {
    this.#probing = false;
    this.#failures += 1;
    if (this.state === 'half-open' || this.#failures >= this.opts.failures) {
      if (this.state !== 'open') this.opened += 1;
      this.state = 'open';
      this.#openedAt = now;
    }
  }
}

export interface ReplicaOrigin {
  target: OriginTarget;
  /** Signs for this origin (its region, the route's credentials) and sends. */
  sender: UpstreamSender;
  breaker: CircuitBreaker;
}

/** Sends a route's requests to the first origin whose breaker lets it, moving on when one fails. */
export class ReplicaSender implements UpstreamSender {
  constructor(readonly origins: readonly ReplicaOrigin[]) {}

  async send(_route: Route, req: UpstreamRequest): Promise<UpstreamResponse> {
    const first = this.origins[0] as ReplicaOrigin;
    const q = req.path.indexOf('?');
    const path = q < 0 ? req.path : req.path.slice(0, q);
    const query = q < 0 ? '' : req.path.slice(q);
    const encodedKey = path.slice(first.target.base.length);
    const now = Date.now();
    let tried = this.origins.filter((o) => o.breaker.allow(now));
    // Every circuit open: the request still deserves an answer, so each origin gets its chance in order.
    if (tried.length === 0) tried = [...this.origins];
    // A body streams once: a request that carries one goes to one origin only.
    if (req.body !== null) tried = tried.slice(0, 1);
    for (const [i, o] of tried.entries()) {
      const last = i === tried.length - 1;
      const headers = withHost(req.headers, o.target.host);
      try {
        const res = await o.sender.send(o.target.route, {
          ...req,
          path: `${o.target.base}${encodedKey}${query}`,
          headers,
        });
        if (res.status < 500) {
          o.breaker.succeeded();
          return res;
        }
        o.breaker.failed(Date.now());
        if (last) return res;
        res.body.on('error', () => {});
        res.body.resume();
      } catch (err) {
        // The client went away: nothing is wrong with the origin.
        if ((err as Error).name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED') {
          throw err;
        }
        o.breaker.failed(Date.now());
        if (last) throw err;
      }
    }
    throw new Error('no origin to try');
  }
}

function withHost(headers: readonly string[], host: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    out.push(name, name.toLowerCase() === 'host' ? host : (headers[i + 1] as string));
  }
  return out;
}
