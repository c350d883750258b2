// DNS for S3 names. Clients' hosts files and DNS point S3 names at Kura, so Kura must resolve them
// itself: `dns.Resolver` asks DNS servers directly and never reads /etc/hosts. Answers are cached for
// their TTL, and each new connection takes the next address, which spreads a pool over every address
// S3 returns (S3 answers with several, and expects clients to use them all).

import type { LookupAddress, LookupOptions } from 'node:dns';
import { Resolver } from 'node:dns/promises';

const MIN_TTL_MS = 5_000;
const MAX_TTL_MS = 300_000;
/**
 * Past its TTL an answer is still used for this long while a refresh runs in the background, so a slow
 * or failing DNS server never delays or fails a connection that a recent answer can serve.
 */
const STALE_GRACE_MS = 600_000;
/** One entry per host name (virtual-hosted buckets make many); the oldest go first. */
const MAX_ENTRIES = 10_000;

interface Entry {
  addresses: LookupAddress[];
  expires: number;
  next: number;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export class S3Resolver {
  readonly #resolver: Resolver;
  readonly #cache = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();

  constructor(servers: readonly string[], timeoutMs = 5_000) {
    this.#resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length > 0) this.#resolver.setServers([...servers]);
  }

  /** The next addresses for `hostname`, rotated so that each call starts with a different one. */
  async resolve(hostname: string): Promise<LookupAddress[]> {
    const now = Date.now();
    let entry = this.#cache.get(hostname);
    if (!entry || entry.expires + STALE_GRACE_MS <= now) {
      entry = await this.#refresh(hostname);
    } else if (entry.expires <= now) {
      // A failed background refresh keeps the stale answer; the next expired use tries again.
      this.#refresh(hostname).catch(() => {});
    }
    const start = entry.next++ % entry.addresses.length;
    return [...entry.addresses.slice(start), ...entry.addresses.slice(0, start)];
  }

  /** A `net.connect` lookup function (undici passes it through its `connect` options). */
  readonly lookup = (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    this.resolve(hostname).then(
      (all) => {
        const wanted =
          options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        if (wanted.length === 0) return callback(notFound(hostname), '');
        if (options.all) return callback(null, wanted);
        const first = wanted[0] as LookupAddress;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };

  #refresh(hostname: string): Promise<Entry> {
    let pending = this.#pending.get(hostname);
    if (!pending) {
      pending = this.#query(hostname).finally(() => this.#pending.delete(hostname));
      this.#pending.set(hostname, pending);
    }
    return pending;
  }

  async #query(hostname: string): Promise<Entry> {
    const [v4, v6] = await Promise.allSettled([
      this.#resolver.resolve4(hostname, { ttl: true }),
      this.#resolver.resolve6(hostname, { ttl: true }),
    ]);
    const records = [
      ...(v4.status === 'fulfilled' ? v4.value.map((r) => ({ ...r, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((r) => ({ ...r, family: 6 })) : []),
    ];
    if (records.length === 0) {
      const err = v4.status === 'rejected' ? v4.reason : notFound(hostname);
      // The name is gone (NXDOMAIN), not just unreachable: forget it rather than serve it stale.
      if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') this.#cache.delete(hostname);
      throw err;
    }
    const ttl = Math.min(...records.map((r) => r.ttl * 1000));
    const entry: Entry = {
      addresses: records.map(({ address, family }) => ({ address, family })),
      expires: Date.now() + Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, ttl)),
      next: this.#cache.get(hostname)?.next ?? 0,
    };
    this.#cache.delete(hostname);
    this.#cache.set(hostname, entry);
    if (this.#cache.size > MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string);
    return entry;
  }
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`DNS has no address for ${hostname}`);
  err.code = 'ENOTFOUND';
  return err;
}
