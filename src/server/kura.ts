// One Kura instance: its listeners, its upstream pools, its logs; started and stopped as a whole.

import type { AddressInfo } from 'node:net';
import { Cache } from '../cache/cache.js';
import { createRequestHandler } from '../cache/request-path.js';
import type { KuraConfig } from '../config/schema.js';
import { type AccessLog, createAccessLog, createLogger, type Logger } from '../telemetry/log.js';
import { UpstreamClient } from '../upstream/client.js';
import { createAdminListener } from './admin-listener.js';
import { createHttpListener, listen } from './http-listener.js';
import { createPassthrough, type Passthrough } from './passthrough.js';
import { createTlsListener, readTlsFiles, type TlsListener } from './tls-listener.js';

export interface RunningKura {
  http: AddressInfo;
  /** The :443 passthrough; null when server.https_port is 0. */
  https: AddressInfo | null;
  /** The TLS listener; null unless server.tls.cert and server.tls.key are set (and tls_port is not 0). */
  tls: AddressInfo | null;
  /** Counters of the passthrough and of CONNECT tunnels on the TLS listener (null where off). */
  relays: { passthrough: Passthrough['stats'] | null; connect: TlsListener['stats'] | null };
  /** null when admin.port is 0. */
  admin: AddressInfo | null;
  cache: Cache;
  /** Leader state, evictions and leases of this instance's part in the fleet (same as cache.fleet). */
  fleet: Cache['fleet'];
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  access?: AccessLog;
}

export async function startKura(config: KuraConfig, opts: StartOptions = {}): Promise<RunningKura> {
  const log = opts.log ?? createLogger(config.log.level);
  const access = opts.access ?? createAccessLog(config.log.access);
  // Read before anything opens, so that a wrong path stops Kura with nothing to undo.
  const tlsFiles = config.server.tls_port === 0 ? null : readTlsFiles(config.server.tls);
  const cache = await Cache.open(config, log);
  const upstream = new UpstreamClient(config.upstream);
  const handler = createRequestHandler({ config, cache, upstream, log, access });
  const server = createHttpListener(config.server, handler, log);
  const relayDeps = { config, resolver: upstream.resolver, log };
  const passthrough = config.server.https_port === 0 ? null : createPassthrough(relayDeps);
  const tlsListener = tlsFiles ? createTlsListener(tlsFiles, { ...relayDeps, handler }) : null;
  const relays = { passthrough: passthrough?.stats ?? null, connect: tlsListener?.stats ?? null };
  const adminServer = config.admin.port === 0 ? null : createAdminListener(cache, relays);
  const host = config.server.http_host;
  let http: AddressInfo;
  let https: AddressInfo | null = null;
  let tls: AddressInfo | null = null;
  let admin: AddressInfo | null = null;
  try {
    http = await listen(server, host, config.server.http_port, 'the HTTP listener');
    if (passthrough) {
      https = await listen(passthrough.server, host, config.server.https_port, 'the HTTPS passthrough', {
        flag: '--https-port',
        env: 'KURA_HTTPS_PORT',
        field: 'server.https_port',
        example: '0 (off) or 8443',
      });
    }
    if (tlsListener) {
      tls = await listen(tlsListener.server, host, config.server.tls_port, 'the TLS listener', {
        env: 'KURA_TLS_PORT',
        field: 'server.tls_port',
        example: '8443',
      });
    }
    if (adminServer) {
      admin = await listen(adminServer, config.admin.host, config.admin.port, 'the admin listener');
    }
  } catch (err) {
    server.close();
    passthrough?.server.close();
    tlsListener?.server.close();
    await upstream.close();
    await cache.close();
    throw err;
  }
  for (const warning of configWarnings(config)) log.warn(warning);

  return {
    http,
    https,
    tls,
    relays,
    admin,
    cache,
    fleet: cache.fleet,
    async close(graceMs = 10_000) {
      adminServer?.close();
      adminServer?.closeAllConnections();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await Promise.all([stopped, passthrough?.close(graceMs), tlsListener?.close(graceMs)]);
      clearTimeout(timer);
      await upstream.close();
      // Flushes the journal and releases the leader lock: another instance takes over at once.
      await cache.close();
      await access.close();
    },
  };
}

function configWarnings(config: KuraConfig): string[] {
  return Object.entries(config.upstream.overrides)
    .filter(([, o]) => !o.tls_verify)
    .map(
      ([host, o]) =>
        `upstream.overrides.${host}: TLS certificates of ${o.url} are NOT verified (tls_verify: false)`,
    );
}
