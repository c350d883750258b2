// Can Kura reach anything upstream, as far as names go? Readiness asks this: at least one host Kura may
// send requests to must resolve. Overrides to IP literals need no DNS at all.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { KuraConfig } from '../config/schema.js';
import type { S3Resolver } from './resolver.js';

/** A name every S3 deployment on AWS can resolve; tried when no override covers every request. */
export const DEFAULT_S3_HOST = 's3.amazonaws.com';

/** A host and the resolver Kura uses for it: its own for S3 names, the system's for overrides. */
export interface UpstreamName {
  host: string;
  via: 's3' | 'system';
}

/** The hosts whose resolution readiness tries. */
export function namesToResolve(config: KuraConfig['upstream']): UpstreamName[] {
  const names: UpstreamName[] = Object.values(config.overrides).map((o) => ({
    host: new URL(o.url).hostname.replace(/^\[(.*)\]$/, '$1'),
    via: 'system',
  }));
  // Without a catch-all override, some requests go to AWS by name.
  if (!('*' in config.overrides)) names.push({ host: DEFAULT_S3_HOST, via: 's3' });
  return names;
}

/** Null when one of the names resolves (or is an IP literal); else why none did. */
export async function resolverProblem(
  resolver: S3Resolver,
  names: readonly UpstreamName[],
): Promise<string | null> {
  if (names.some((n) => isIP(n.host) !== 0)) return null;
  const failures: string[] = [];
  for (const { host, via } of names) {
    try {
      const found = via === 's3' ? await resolver.resolve(host) : await lookup(host, { all: true });
      if (found.length > 0) return null;
    } catch (err) {
      failures.push(`${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return `no upstream host resolves (${failures.join('; ')})`;
}
