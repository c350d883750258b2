// The gateway's routes as they serve: each with its authenticator, its origin and its signer, built once
// at start-up. A request goes to the route with the longest matching prefix, among those for its Host
// first, then among those for any host.

import type { GatewayRoute } from '../config/gateway.js';
import type { UpstreamSender } from '../upstream/client.js';
import { type Authenticator, authenticator } from './auth.js';
import { credentialProvider } from './credentials.js';
import { type OriginTarget, originTarget } from './origin.js';
import { CircuitBreaker, type ReplicaOrigin, ReplicaSender } from './replicas.js';
import { SigningSender } from './signer.js';

export interface LiveRoute {
  config: GatewayRoute;
  authenticate: Authenticator;
  /** The first origin: the cache keys the route's objects by it. */
  target: OriginTarget;
  /** Signs and sends to the first origin whose breaker allows, then the replicas in order. */
  sender: UpstreamSender;
}

export class RouteTable {
  readonly routes: LiveRoute[];
  /** One breaker per origin URL, shared by the routes that use it. */
  readonly breakers = new Map<string, CircuitBreaker>();

  constructor(routes: readonly GatewayRoute[], upstream: UpstreamSender) {
    this.routes = routes
      .map((config) => {
        const credentials = credentialProvider(config.credentials);
        const origins: ReplicaOrigin[] = [
          { origin: config.origin, bucket: config.bucket },
          ...config.replicas,
        ].map((r) => {
          const target = originTarget(r.origin, r.bucket);
          let breaker = this.breakers.get(target.route.origin);
          if (!breaker) {
            breaker = new CircuitBreaker(target.route.origin, config.breaker);
            this.breakers.set(target.route.origin, breaker);
          }
          return { target, breaker, sender: new SigningSender(upstream, credentials, target.region) };
        });
        return {
          config,
          authenticate: authenticator(config.auth),
          target: (origins[0] as ReplicaOrigin).target,
          sender: new ReplicaSender(origins),
        };
      })
      // Host routes before host-less ones, then longest prefix first: the first match is the most specific.
      .sort(
        (a, b) =>
          Number(b.config.host !== null) - Number(a.config.host !== null) ||
          b.config.prefix.length - a.config.prefix.length,
      );
  }

  /** The route for a Host (without port, lower case) and a raw path, or null. */
  match(host: string, path: string): LiveRoute | null {
    return (
      this.routes.find(
        (r) => (r.config.host === null || r.config.host === host) && path.startsWith(r.config.prefix),
      ) ?? null
    );
  }
}
