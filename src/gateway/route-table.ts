// The gateway's routes as they serve: each with its authenticator, its origin and its signer, built once
// at start-up. A request goes to the route with the longest matching prefix, among those for its Host
// first, then among those for any host.

import type { GatewayRoute } from '../config/gateway.js';
import type { UpstreamSender } from '../upstream/client.js';
import { type Authenticator, authenticator } from './auth.js';
import { credentialProvider } from './credentials.js';
import { type OriginTarget, originTarget } from './origin.js';
import { SigningSender } from './signer.js';

export interface LiveRoute {
  config: GatewayRoute;
  authenticate: Authenticator;
  target: OriginTarget;
  sender: SigningSender;
}

export class RouteTable {
  readonly routes: LiveRoute[];

  constructor(routes: readonly GatewayRoute[], upstream: UpstreamSender) {
    this.routes = routes
      .map((config) => {
        const target = originTarget(config.origin, config.bucket);
        return {
          config,
          authenticate: authenticator(config.auth),
          target,
          sender: new SigningSender(upstream, credentialProvider(config.credentials), target.region),
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
