// Where a raw TCP tunnel (the :443 passthrough, CONNECT on the TLS listener) may go. The same overrides
// and allowlist as HTTP routing decide (rule 8 of docs/architecture.md); an override's URL gives the host
// and port to connect to, whatever its scheme, since the bytes are relayed, not spoken.

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { KuraConfig } from '../config/schema.js';
import { classifyEndpoint } from '../s3/endpoint.js';
import type { HostPort } from '../s3/types.js';
import type { S3Resolver } from './resolver.js';
import { routeRequest } from './route.js';

export interface TunnelTarget {
  /** The name or address to connect to (an override's host, or the SNI/CONNECT name itself). */
  host: string;
  port: number;
  /** `override`: the operator named it, any address goes; `s3`: public addresses only. */
  via: 'override' | 's3';
}

export type TunnelRoute = { ok: true; target: TunnelTarget } | { ok: false; reason: string };

export function routeTunnel(name: string, port: number, upstream: KuraConfig['upstream']): TunnelRoute {
  const host: HostPort = { hostname: name, port, kind: 'dns' };
  const route = routeRequest(host, classifyEndpoint(host).endpoint.kind, upstream);
  if (!route.ok) return route;
  if (route.route.via === 's3') return { ok: true, target: { host: name, port, via: 's3' } };
  const url = new URL(route.route.origin);
  const target = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { ok: true, target: { host: target, port: url.port ? Number(url.port) : 443, via: 'override' } };
}

/**
 * The addresses to try, in order: an override's host through the system resolver (like HTTP routing
 * does), an S3 name through Kura's own (never /etc/hosts, which points S3 names back at Kura).
 */
export async function tunnelAddresses(target: TunnelTarget, resolver: S3Resolver): Promise<string[]> {
  if (isIP(target.host) !== 0) return [target.host];
  if (target.via === 'override') {
    return (await lookup(target.host, { all: true, verbatim: true })).map((a) => a.address);
  }
  return (await resolver.resolve(target.host)).map((a) => a.address);
}

export type ResolvedTarget =
  | { ok: true; addresses: string[] }
  | { ok: false; reason: 'dns-failed' | 'private-address'; detail: string };

/** The addresses of an allowed target, refused when a name no override covers leads inward. */
export async function resolveTunnel(target: TunnelTarget, resolver: S3Resolver): Promise<ResolvedTarget> {
  let addresses: string[];
  try {
    addresses = await tunnelAddresses(target, resolver);
  } catch (err) {
    return { ok: false, reason: 'dns-failed', detail: (err as Error).message };
  }
  // One internal address refuses the name: trying only the public ones would still let whoever controls
  // the name's DNS choose, and a name pointing inward is not S3.
  const inward = target.via === 's3' ? addresses.find(isInternalAddress) : undefined;
  if (inward !== undefined) return { ok: false, reason: 'private-address', detail: inward };
  return { ok: true, addresses };
}

/**
 * Ranges a name on the public allowlist must never lead to: a DNS answer pointing an allowed name at
 * them would otherwise make Kura a way into the network it runs in (the instance metadata service above
 * all: 169.254.169.254 and fd00:ec2::254 fall in the link-local and unique-local ranges).
 */
const internal = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  internal.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  internal.addSubnet(net, prefix, 'ipv6');
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return internal.check(address, 'ipv4');
  // An IPv4-mapped address reaches the IPv4 host it embeds.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1] as string, 'ipv4');
  return internal.check(address, 'ipv6');
}
