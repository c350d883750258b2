// Raw TCP relays: the :443 passthrough and CONNECT on the TLS listener. Kura dials the upstream (one
// address after another until one answers), replays what it already read from the client, then pipes
// both ways: back-pressure from `pipe`, half-close from `allowHalfOpen`, one idle timer, and an error on
// either side ends both. Nothing is read, kept or cached.

import net from 'node:net';
import type { KuraConfig } from '../config/schema.js';
import type { S3Resolver } from '../upstream/resolver.js';
import { resolveTunnel, routeTunnel } from '../upstream/tunnel-route.js';

/** Why a connection was closed without relaying. */
export type RefusalReason =
  | 'client-not-allowed'
  | 'no-sni'
  | 'not-tls'
  | 'too-large'
  | 'malformed'
  | 'timeout'
  | 'not-allowed'
  | 'private-address'
  | 'bad-port'
  | 'dns-failed'
  | 'connect-failed';

/** Counters of one relay entry point, shown under `/stats` by the admin listener. */
export class TunnelStats {
  /** Client connections accepted. */
  accepted = 0;
  /** Upstream connections made and relayed. */
  relayed = 0;
  /** Relays open now. */
  active = 0;
  bytesToUpstream = 0;
  bytesToClient = 0;
  readonly refused: Record<RefusalReason, number> = {
    'client-not-allowed': 0,
    'no-sni': 0,
    'not-tls': 0,
    'too-large': 0,
    malformed: 0,
    timeout: 0,
    'not-allowed': 0,
    'private-address': 0,
    'bad-port': 0,
    'dns-failed': 0,
    'connect-failed': 0,
  };

  refuse(reason: RefusalReason): void {
    this.refused[reason]++;
  }

  toJSON() {
    const { accepted, relayed, active, bytesToUpstream, bytesToClient, refused } = this;
    return { accepted, relayed, active, bytesToUpstream, bytesToClient, refused: { ...refused } };
  }
}

export type OpenedTunnel =
  | { ok: true; socket: net.Socket }
  | {
      ok: false;
      reason: 'not-allowed' | 'private-address' | 'dns-failed' | 'connect-failed';
      detail: string;
    };

/**
 * The one way a relay reaches its upstream, for the :443 passthrough and CONNECT alike: route the name
 * (overrides, then the allowlist), resolve it (refusing inward addresses), dial the addresses in turn.
 */
export async function openTunnel(
  name: string,
  deps: { config: KuraConfig; resolver: S3Resolver },
  client: net.Socket,
): Promise<OpenedTunnel> {
  const route = routeTunnel(name, 443, deps.config.upstream);
  if (!route.ok) return { ok: false, reason: 'not-allowed', detail: route.reason };
  const resolved = await resolveTunnel(route.target, deps.resolver);
  if (!resolved.ok) return { ok: false, reason: resolved.reason, detail: resolved.detail };
  try {
    const socket = await dialFirst({
      addresses: resolved.addresses,
      port: route.target.port,
      timeoutMs: deps.config.upstream.connect_timeout,
      client,
    });
    return { ok: true, socket };
  } catch (err) {
    return { ok: false, reason: 'connect-failed', detail: (err as Error).message };
  }
}

export interface DialOptions {
  addresses: readonly string[];
  port: number;
  /** Per address. */
  timeoutMs: number;
  /** Stops trying when the client has gone. */
  client: net.Socket;
}

/** Connects to the first address that answers within the timeout; throws the last failure otherwise. */
export async function dialFirst(opts: DialOptions): Promise<net.Socket> {
  let last: Error = new Error('no address to connect to');
  for (const address of opts.addresses) {
    if (opts.client.destroyed) throw new Error('the client went away');
    try {
      return await dialOne(address, opts.port, opts.timeoutMs);
    } catch (err) {
      last = err as Error;
    }
  }
  throw last;
}

function dialOne(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

export interface RelayOptions {
  /** Bytes read from the client before the upstream was chosen; sent first. */
  head: Buffer;
  idleTimeoutMs: number;
  stats: TunnelStats;
}

/** Relays until both sides have ended or one fails; resolves when both sockets are closed. */
export function relay(client: net.Socket, upstream: net.Socket, opts: RelayOptions): Promise<void> {
  const { stats } = opts;
  stats.relayed++;
  stats.active++;
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  // A side that closes without having sent its FIN (reset, cut at shutdown) takes the other down too;
  // after a FIN, `pipe` has already passed the end on and the other side finishes its own writes.
  client.once('close', () => client.readableEnded || upstream.destroy());
  upstream.once('close', () => upstream.readableEnded || client.destroy());
  // A silent tunnel is cut on either side's timer: a half-closed side may legitimately send nothing more.
  let lastActivity = Date.now();
  const touch = () => {
    lastActivity = Date.now();
  };
  client.on('data', touch);
  upstream.on('data', touch);
  const idle = setInterval(
    () => {
      if (Date.now() - lastActivity >= opts.idleTimeoutMs) destroyBoth();
    },
    Math.max(50, Math.min(opts.idleTimeoutMs / 4, 30_000)),
  );
  idle.unref();

  if (opts.head.length > 0) upstream.write(opts.head);
  client.pipe(upstream);
  upstream.pipe(client);
  // `pipe` ends the other side when one side ends, which is the half-close a TLS close_notify rides on.
  const closed = (s: net.Socket) =>
    new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())));
  return Promise.all([closed(client), closed(upstream)]).then(() => {
    clearInterval(idle);
    stats.active--;
    stats.bytesToUpstream += upstream.bytesWritten;
    stats.bytesToClient += client.bytesWritten;
  });
}

/** The client sockets of one entry point, so that shutdown can wait for them and then cut them. */
export class SocketSet {
  readonly #sockets = new Set<net.Socket>();

  add(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Waits up to `graceMs` for the sockets to close by themselves, then destroys the rest. */
  async drain(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, graceMs)));
    }
    for (const s of this.#sockets) s.destroy();
  }
}
