// `kura sign`: a link to a gateway route with `auth.kind: link` (docs/gateway.md, Signed links), made with
// an Ed25519 private key. Only the holder of the key makes links; the route holds the public key.

import { readFileSync } from 'node:fs';
import { parseDuration } from '../config/units.js';
import { encodeKeyPath, signLink } from '../gateway/link.js';

export interface SignOptions {
  key: string;
  method: string;
  expires: string;
  baseUrl?: string;
}

export interface SignIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Prints the signed link; returns the exit code (2: bad usage). */
export function signCommand(path: string, opts: SignOptions, io: SignIo, now = Date.now()): number {
  if (!path.startsWith('/')) {
    io.err(`kura sign: the path must start with / (the route prefix, then the key): ${path}`);
    return 2;
  }
  const ms = parseDuration(opts.expires);
  if (ms === null || ms <= 0) {
    io.err(`kura sign: --expires ${opts.expires} is not a duration (like 15m, 1h, 7d)`);
    return 2;
  }
  const method = opts.method.toUpperCase();
  if (!['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) {
    io.err(`kura sign: --method ${opts.method} is not GET, HEAD, PUT or DELETE`);
    return 2;
  }
  let pem: string;
  try {
    pem = readFileSync(opts.key, 'utf8');
  } catch (err) {
    io.err(`kura sign: --key ${opts.key} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    return 2;
  }
  const expiresAt = Math.floor((now + ms) / 1000);
  let query: string;
  try {
    query = signLink(pem, method, path, expiresAt);
  } catch (err) {
    io.err(`kura sign: --key ${opts.key}: ${(err as Error).message}`);
    return 2;
  }
  const base = (opts.baseUrl ?? '').replace(/\/+$/, '');
  io.out(`${base}${encodeKeyPath(path)}?${query}`);
  return 0;
}
