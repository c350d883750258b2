// The :443 passthrough: HTTPS that Kura cannot read is relayed as raw TCP to the server the client
// named in its ClientHello (SNI). The TLS session stays end to end between client and S3; Kura holds no
// key and caches nothing here. What it does decide: whether that name may be reached at all (the same
// overrides and allowlist as HTTP routing) and, for names no override covers, that DNS does not lead
// into the network Kura runs in.

import net from 'node:net';
import { clientFilter } from '../config/access.js';
import type { KuraConfig } from '../config/schema.js';
import { MAX_HELLO_PREFIX, parseClientHello } from '../s3/client-hello.js';
import type { Logger } from '../telemetry/log.js';
import type { S3Resolver } from '../upstream/resolver.js';
import { openTunnel, type RefusalReason, relay, SocketSet, TunnelStats } from './tunnel.js';

/** A client that has not sent its whole ClientHello by then is not a TLS client in a hurry to talk. */
export const HELLO_TIMEOUT_MS = 10_000;

export interface PassthroughDeps {
  config: KuraConfig;
  resolver: S3Resolver;
  log: Logger;
  /** Default HELLO_TIMEOUT_MS. */
  helloTimeoutMs?: number;
}

export interface Passthrough {
  server: net.Server;
  stats: TunnelStats;
  /** Stops accepting, lets relays run for up to `graceMs`, then cuts them. */
  close(graceMs: number): Promise<void>;
}

export function createPassthrough(deps: PassthroughDeps): Passthrough {
  const stats = new TunnelStats();
  const allowed = clientFilter(deps.config.server.allow_clients);
  const sockets = new SocketSet();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    stats.accepted++;
    sockets.add(client);
    if (!allowed(client.remoteAddress)) {
      stats.refuse('client-not-allowed');
      client.destroy();
      return;
    }
    serve(client, deps, stats).catch((err: Error) => {
      deps.log.debug('passthrough failed', { error: err.message });
      client.destroy();
    });
  });
  return {
    server,
    stats,
    async close(graceMs) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await sockets.drain(graceMs);
      await stopped;
    },
  };
}

async function serve(client: net.Socket, deps: PassthroughDeps, stats: TunnelStats): Promise<void> {
  const refuse = (reason: RefusalReason, detail: Record<string, unknown> = {}) => {
    stats.refuse(reason);
    deps.log.debug('passthrough refused', { reason, remote: client.remoteAddress, ...detail });
    client.destroy();
  };
  const hello = await readHello(client, deps.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
  if (hello.kind === 'closed') return void client.destroy();
  if (hello.kind !== 'hello') return refuse(hello.kind, { detail: hello.reason });
  if (hello.sni === null) return refuse('no-sni');
  const opened = await openTunnel(hello.sni, deps, client);
  if (!opened.ok) return refuse(opened.reason, { sni: hello.sni, detail: opened.detail });
  const socket = opened.socket;
  if (client.destroyed) return void socket.destroy();
  await relay(client, socket, { head: hello.data, idleTimeoutMs: deps.config.upstream.idle_timeout, stats });
}

type HelloRead =
  | { kind: 'hello'; sni: string | null; data: Buffer }
  | { kind: 'not-tls' | 'malformed' | 'too-large' | 'timeout'; reason: string }
  | { kind: 'closed' };

/** Reads until the ClientHello is whole, bounded in bytes and time; leaves the socket paused. */
function readHello(client: net.Socket, timeoutMs: number): Promise<HelloRead> {
  return new Promise((resolve) => {
    // Every byte read is replayed upstream; only the first MAX_HELLO_PREFIX are ever parsed.
    const chunks: Buffer[] = [];
    const prefix = Buffer.allocUnsafe(MAX_HELLO_PREFIX);
    let filled = 0;
    const done = (result: HelloRead) => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      client.off('close', onEnd);
      client.pause();
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ kind: 'timeout', reason: `no ClientHello within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      filled += chunk.copy(prefix, filled);
      const parsed = parseClientHello(prefix.subarray(0, filled));
      if (parsed.kind === 'need-more') return;
      if (parsed.kind === 'hello')
        return done({ kind: 'hello', sni: parsed.sni, data: Buffer.concat(chunks) });
      done(parsed);
    };
    const onEnd = () => done({ kind: 'closed' });
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onEnd);
    client.on('error', () => {});
  });
}
