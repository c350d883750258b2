// Who may use Kura and its cache: the client allowlist (`server.allow_clients`) and the hit
// authorization levels (`cache.hit_auth`, settable per rule). What each level stops is in
// docs/deployment.md.

import { BlockList, isIP } from 'node:net';

export const HIT_AUTH_LEVELS = ['any', 'signed', 's3'] as const;
export type HitAuth = (typeof HIT_AUTH_LEVELS)[number];

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (a /32 or /128); null when it is none of these. */
export function parseCidr(text: string): Cidr | null {
  const [address = '', bits, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  return prefix <= max ? { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } : null;
}

/**
 * Whether a client address may use Kura: every address when `ranges` is empty. An IPv4 client on a
 * dual-stack listener shows as `::ffff:a.b.c.d`; it is matched as the IPv4 address it is.
 */
export function clientFilter(ranges: readonly string[]): (address: string | undefined) => boolean {
  if (ranges.length === 0) return () => true;
  const allowed = new BlockList();
  for (const range of ranges) {
    const cidr = parseCidr(range);
    if (cidr !== null) allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address) => {
    if (address === undefined) return false;
    const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : null;
    if (v4 !== null) return allowed.check(v4, 'ipv4');
    const version = isIP(address);
    return version !== 0 && allowed.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}
