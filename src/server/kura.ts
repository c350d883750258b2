// One Kura instance: its listeners, its upstream pools, its logs; started and stopped as a whole.

import type { AddressInfo } from 'node:net';
import { Cache } from '../cache/cache.js';
import { createRequestHandler } from '../cache/request-path.js';
import type { KuraConfig } from '../config/schema.js';
import { type AccessLog, createAccessLog, createLogger, type Logger } from '../telemetry/log.js';
import { UpstreamClient } from '../upstream/client.js';
import { createAdminListener } from './admin-listener.js';
import { createHttpListener, listen } from './http-listener.js';

export interface RunningKura {
  http: AddressInfo;
  /** null when admin.port is 0. */
  admin: AddressInfo | null;
  cache: Cache;
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
  const cache = await Cache.open(config, log);
  const upstream = new UpstreamClient(config.upstream);
  const handler = createRequestHandler({ config, cache, upstream, log, access });
  const server = createHttpListener(config.server, handler, log);
  const adminServer = config.admin.port === 0 ? null : createAdminListener(cache);
  let http: AddressInfo;
  let admin: AddressInfo | null = null;
  try {
    http = await listen(server, config.server.http_host, config.server.http_port, 'the HTTP listener');
    if (adminServer) {
      admin = await listen(adminServer, config.admin.host, config.admin.port, 'the admin listener');
    }
  } catch (err) {
    server.close();
    await upstream.close();
    cache.close();
    throw err;
  }
  for (const warning of configWarnings(config)) log.warn(warning);

  return {
    http,
    admin,
    cache,
    async close(graceMs = 10_000) {
      adminServer?.close();
      adminServer?.closeAllConnections();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await stopped;
      clearTimeout(timer);
      await upstream.close();
      cache.close();
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
