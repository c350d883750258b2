// Where a request goes: an operator's override, or S3 itself at https://<Host>:443. Anything else is
// refused before a connection is made, so Kura is never an open proxy (docs/architecture.md, rule 8).

import type { KuraConfig, Override } from '../config/schema.js';
import type { EndpointKind, HostPort } from '../s3/types.js';

export interface Route {
  /** `scheme://host:port` of the connection Kura opens. */
  origin: string;
  /** `override` connects with the system resolver; `s3` resolves with Kura's own, never /etc/hosts. */
  via: 'override' | 's3';
  tlsVerify: boolean;
}

export type RouteDecision = { ok: true; route: Route } | { ok: false; reason: string };

type UpstreamConfig = KuraConfig['upstream'];

/** The host as it appears in an override key: IPv6 in brackets, like in a URL. */
function hostKey(host: HostPort): string {
  return host.kind === 'ipv6' ? `[${host.hostname}]` : host.hostname;
}

interface OverrideTable {
  exact: Map<string, Override>;
  /** `.suffix` keys, longest first, so the first match is the most specific. */
  suffixes: [string, Override][];
  any: Override | null;
}

/** Built once per config (the config object is immutable), not on every request. */
const tables = new WeakMap<Record<string, Override>, OverrideTable>();

function overrideTable(overrides: Record<string, Override>): OverrideTable {
  let table = tables.get(overrides);
  if (!table) {
    const entries = Object.entries(overrides).map(([k, v]) => [k.toLowerCase(), v] as const);
    table = {
      exact: new Map(entries.filter(([k]) => !k.startsWith('*'))),
      suffixes: entries
        .filter(([k]) => k.startsWith('*.'))
        .map(([k, v]): [string, Override] => [k.slice(1), v])
        .sort(([a], [b]) => b.length - a.length),
      any: entries.find(([k]) => k === '*')?.[1] ?? null,
    };
    tables.set(overrides, table);
  }
  return table;
}

/** Most specific first: host:port, host, the longest matching *.suffix, then *. */
export function findOverride(host: HostPort, overrides: Record<string, Override>): Override | null {
  const table = overrideTable(overrides);
  const name = hostKey(host);
  const exact = (host.port !== null && table.exact.get(`${name}:${host.port}`)) || table.exact.get(name);
  if (exact) return exact;
  return table.suffixes.find(([suffix]) => host.hostname.endsWith(suffix))?.[1] ?? table.any;
}

export function matchesHostPattern(hostname: string, pattern: string): 'exact' | 'wildcard' | null {
  if (pattern === '*') return 'wildcard';
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1)) ? 'wildcard' : null;
  return hostname === pattern ? 'exact' : null;
}

export function routeRequest(
  host: HostPort,
  endpoint: EndpointKind,
  upstream: UpstreamConfig,
): RouteDecision {
  const override = findOverride(host, upstream.overrides);
  if (override)
    return { ok: true, route: { origin: override.url, via: 'override', tlsVerify: override.tls_verify } };

  const matches = upstream.allow.map((p) => matchesHostPattern(host.hostname, p));
  if (!matches.some((m) => m !== null)) {
    return { ok: false, reason: `${host.hostname} is not an allowed upstream (upstream.allow)` };
  }
  // `*.amazonaws.com` is there for S3's many endpoint names, not for STS, EC2 or S3 Control: an AWS name
  // that is not an S3 data endpoint needs to be listed by its exact name.
  if (endpoint === 'aws-other' && !matches.includes('exact')) {
    return {
      ok: false,
      reason: `${host.hostname} is not an S3 endpoint; list it exactly in upstream.allow to reach it`,
    };
  }
  return { ok: true, route: { origin: `https://${hostKey(host)}:443`, via: 's3', tlsVerify: true } };
}
