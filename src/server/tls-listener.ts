// The TLS listener: the :80 listener behind the operator's certificate, for clients that want the hop
// to Kura encrypted and still want caching (`HTTP_PROXY=https://kura:3129` with an `http://` endpoint).
// It feeds the same request handler. CONNECT on it (what such clients send for `https://` endpoints) is
// relayed like the :443 passthrough: port 443 only, same allowlist, same refusal of inward addresses.

import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { createSecureContext } from 'node:tls';
import type { KuraConfig } from '../config/schema.js';
import { badGateway, connectPortRefused, upstreamRefused } from '../s3/errors.js';
import { parseHost } from '../s3/host.js';
import type { S3ErrorSpec } from '../s3/types.js';
import type { Logger } from '../telemetry/log.js';
import type { S3Resolver } from '../upstream/resolver.js';
import { answerLikeS3, type Handler, listenerOptions, writeRawError } from './http-listener.js';
import { openTunnel, type RefusalReason, relay, SocketSet, TunnelStats } from './tunnel.js';

export interface TlsListenerDeps {
  config: KuraConfig;
  resolver: S3Resolver;
  log: Logger;
  handler: Handler;
}

export interface TlsListener {
  server: https.Server;
  /** CONNECT tunnels. */
  stats: TunnelStats;
  /** Stops accepting; requests and tunnels get up to `graceMs`, then are cut. */
  close(graceMs: number): Promise<void>;
}

/** The certificate and key named by server.tls, read now so that a bad path stops Kura at start. */
export function readTlsFiles(tls: KuraConfig['server']['tls']): { cert: Buffer; key: Buffer } | null {
  if (tls.cert === null && tls.key === null) return null;
  if (tls.cert === null || tls.key === null) {
    throw new Error(
      `server.tls.${tls.cert === null ? 'cert' : 'key'} is not set: the TLS listener needs both cert and key`,
    );
  }
  const read = (field: 'cert' | 'key', path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`server.tls.${field}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const files = { cert: read('cert', tls.cert), key: read('key', tls.key) };
  try {
    createSecureContext(files);
  } catch (err) {
    throw new Error(
      `server.tls.cert/key (${tls.cert}, ${tls.key}) are not a PEM certificate chain and its private key: ${(err as Error).message}`,
    );
  }
  return files;
}

export function createTlsListener(files: { cert: Buffer; key: Buffer }, deps: TlsListenerDeps): TlsListener {
  const server = https.createServer(
    {
      ...listenerOptions(deps.config.server),
      ...files,
      // A client that opens a connection and never finishes the handshake is let go like a slow header.
      handshakeTimeout: deps.config.server.header_timeout,
      allowHalfOpen: true,
    },
    deps.handler,
  );
  answerLikeS3(server, deps.handler, deps.log);
  const stats = new TunnelStats();
  const tunnels = new SocketSet();
  server.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
    stats.accepted++;
    tunnels.add(socket);
    connect(req, socket, head, deps, stats).catch((err: Error) => {
      deps.log.debug('CONNECT failed', { error: err.message });
      socket.destroy();
    });
  });
  server.on('tlsClientError', (err: Error) => deps.log.debug('TLS handshake failed', { error: err.message }));
  return {
    server,
    stats,
    async close(graceMs) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await tunnels.drain(graceMs);
      await stopped;
      clearTimeout(timer);
    },
  };
}

/** RFC 9110 §9.3.6: `CONNECT host:port`; answered 200 once the upstream has accepted. */
async function connect(
  req: IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  deps: TlsListenerDeps,
  stats: TunnelStats,
): Promise<void> {
  const refuse = (reason: RefusalReason, error: S3ErrorSpec, detail = '') => {
    stats.refuse(reason);
    deps.log.debug('CONNECT refused', { target: req.url, reason, detail });
    writeRawError(socket, error);
  };
  const target = parseHost(req.url ?? '');
  if (target === null || target.kind !== 'dns') {
    return refuse('not-allowed', upstreamRefused(req.url ?? ''), 'not host:port with a host name');
  }
  if (target.port !== 443) {
    return refuse('bad-port', connectPortRefused(target.port));
  }
  const opened = await openTunnel(target.hostname, deps, socket);
  if (!opened.ok) {
    const inward = opened.reason === 'not-allowed' || opened.reason === 'private-address';
    const error = inward
      ? upstreamRefused(target.hostname)
      : badGateway(`${target.hostname}: ${opened.detail}`);
    return refuse(opened.reason, error, opened.detail);
  }
  const tunnel = opened.socket;
  if (socket.destroyed) return void tunnel.destroy();
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  await relay(socket, tunnel, { head, idleTimeoutMs: deps.config.upstream.idle_timeout, stats });
}
