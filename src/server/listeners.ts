// The ports an instance serves clients on: the HTTP listener, the :443 passthrough, the TLS listener and
// the gateway's listeners, with the handlers behind them. Made together, opened together, drained
// together on a stop.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cache } from '../cache/cache.js';
import { createRequestHandler } from '../cache/request-path.js';
import type { KuraConfig } from '../config/schema.js';
import { createGatewayHandler } from '../gateway/handler.js';
import type { AccessLog, AccessRecord } from '../telemetry/access-log.js';
import type { Logger } from '../telemetry/log.js';
import type { TrafficStats } from '../telemetry/traffic.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { RelayStats } from './admin-listener.js';
import { createHttpListener, listen } from './http-listener.js';
import { createPassthrough } from './passthrough.js';
import { createTlsListener } from './tls-listener.js';

export interface ListenerDeps {
  config: KuraConfig;
  cache: Cache;
  upstream: UpstreamClient;
  log: Logger;
  access: AccessLog;
  traffic: TrafficStats;
  /** The TLS listener's certificate and key; null leaves it off. */
  tlsFiles: { cert: Buffer; key: Buffer } | null;
  /** Filled in here with the counters of the relays made. */
  relays: RelayStats;
  requestEnded(r: AccessRecord): void;
}

export interface Addresses {
  http: AddressInfo;
  https: AddressInfo | null;
  tls: AddressInfo | null;
  gateway: AddressInfo[];
}

export interface Listeners {
  /** The states of the gateway's origins (none without a gateway). */
  gatewayOrigins(): [origin: string, state: number][];
  /** Opens every port, in a fixed order; the first that fails stops the rest with its error. */
  listen(): Promise<Addresses>;
  /**
   * Stops accepting and lets requests in flight finish until `deadline` (relays: for `graceMs`), then
   * cuts what is left.
   */
  drain(deadline: number, graceMs: number): Promise<void>;
  /** Stops listening at once (a start that failed: nothing is in flight yet). */
  close(): void;
}

export function createListeners(d: ListenerDeps): Listeners {
  const { config, log } = d;
  const relayDeps = { config, resolver: d.upstream.resolver, log };
  const passthrough = config.server.https_port === 0 ? null : createPassthrough(relayDeps);
  d.relays.passthrough = passthrough?.stats ?? null;
  // What the transparent and the gateway handlers both serve with.
  const served = { config, cache: d.cache, upstream: d.upstream, log, access: d.access, traffic: d.traffic };
  const handler = createRequestHandler({ ...served, onEnd: d.requestEnded });
  const server = createHttpListener(config.server, handler, log);
  const tlsListener = d.tlsFiles ? createTlsListener(d.tlsFiles, { ...relayDeps, handler }) : null;
  d.relays.connect = tlsListener?.stats ?? null;
  // Ports of their own (docs/gateway.md): gateway clients never meet the transparent listener's rules.
  const gatewayHandler =
    config.gateway.listen.length === 0 ? null : createGatewayHandler({ ...served, onEnd: d.requestEnded });
  const gatewayServers = gatewayHandler
    ? config.gateway.listen.map(() => createHttpListener(config.server, gatewayHandler, log))
    : [];

  return {
    gatewayOrigins: () => gatewayHandler?.originStates() ?? [],
    async listen() {
      const host = config.server.http_host;
      const http = await listen(server, host, config.server.http_port, 'the HTTP listener');
      const https = passthrough
        ? await listen(passthrough.server, host, config.server.https_port, 'the HTTPS passthrough', {
            flag: '--https-port',
            env: 'KURA_HTTPS_PORT',
            field: 'server.https_port',
            example: '0 (off) or 8443',
          })
        : null;
      const tls = tlsListener
        ? await listen(tlsListener.server, host, config.server.tls_port, 'the TLS listener', {
            env: 'KURA_TLS_PORT',
            field: 'server.tls_port',
            example: '8443',
          })
        : null;
      const gateway: AddressInfo[] = [];
      for (const [i, g] of config.gateway.listen.entries()) {
        const where = `the gateway listener ${g.host}:${g.port}`;
        gateway.push(await listen(gatewayServers[i] as Server, g.host, g.port, where));
      }
      return { http, https, tls, gateway };
    },
    async drain(deadline, graceMs) {
      await Promise.all([
        drain(server, deadline),
        ...gatewayServers.map((g) => drain(g, deadline)),
        passthrough?.close(graceMs),
        tlsListener?.close(graceMs),
      ]);
    },
    close() {
      server.close();
      for (const g of gatewayServers) g.close();
      passthrough?.server.close();
      tlsListener?.server.close();
    },
  };
}

/**
 * Stops accepting and waits for requests in flight until `deadline`, then cuts the connections left.
 * Keep-alive connections are closed as soon as they fall idle, so clients reconnect elsewhere.
 */
async function drain(server: Server, deadline: number): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  await stopped;
  clearInterval(idle);
  clearTimeout(cut);
}
