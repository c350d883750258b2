// How a gateway route authenticates its clients (`gateway.routes[].auth`). Keys are checked here, at
// load time, so that a bad key stops Kura with the field named rather than failing every request later.
// The config holds only plain data (it crosses to worker processes as JSON): PEM text, never KeyObjects.

import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bad, fieldsOf, ok, type Parsed } from './fields.js';
import { parseDuration } from './units.js';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export type ClientAuth =
  | { kind: 'none' }
  /** SHA-256 digests (hex) of the accepted tokens: the config never holds a usable token. */
  | { kind: 'bearer'; tokenHashes: string[] }
  | {
      kind: 'jwt';
      algorithms: JwtAlgorithm[];
      /** HS256 shared secret. */
      secret: string | null;
      /** SPKI PEM of an RS256, ES256 or EdDSA key. */
      publicKey: string | null;
      /** Keys fetched from here, cached, and fetched again when a token names an unknown `kid`. */
      jwksUrl: string | null;
      jwksCacheMs: number;
      issuer: string | null;
      audience: string | null;
      /** Claim listing the key prefixes (below the route) the token may read; null: the whole route. */
      prefixesClaim: string | null;
    }
  /** Links made by `kura sign`: verified with these Ed25519 public keys (SPKI PEM), any of which may match. */
  | { kind: 'link'; publicKeys: string[] };

const SHA256_HEX = /^(sha256:)?[0-9a-f]{64}$/i;

export function parseClientAuth(raw: unknown): Parsed<ClientAuth> {
  if (raw === undefined) return bad('auth is missing (kind: none, bearer, jwt or link)');
  if (raw === 'none') return ok({ kind: 'none' });
  const kind = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).kind : undefined;
  switch (kind) {
    case 'none': {
      const f = fieldsOf(raw, ['kind'], 'auth');
      return f.ok ? ok({ kind: 'none' }) : f;
    }
    case 'bearer':
      return bearer(raw);
    case 'jwt':
      return jwt(raw);
    case 'link':
      return link(raw);
    default:
      return bad(`auth.kind ${JSON.stringify(kind)} is not none, bearer, jwt or link`);
  }
}

function bearer(raw: unknown): Parsed<ClientAuth> {
  const f = fieldsOf(raw, ['kind', 'token_sha256'], 'auth');
  if (!f.ok) return f;
  const hashes = f.value.token_sha256;
  if (!Array.isArray(hashes) || hashes.length === 0) {
    return bad('auth.token_sha256 is not a list of SHA-256 digests (hex) of the accepted tokens');
  }
  for (const [i, h] of hashes.entries()) {
    if (typeof h !== 'string' || !SHA256_HEX.test(h)) {
      return bad(`auth.token_sha256 item ${i} is not a SHA-256 digest (64 hex characters)`);
    }
  }
  return ok({
    kind: 'bearer',
    tokenHashes: hashes.map((h: string) => h.replace(/^sha256:/i, '').toLowerCase()),
  });
}

function jwt(raw: unknown): Parsed<ClientAuth> {
  const f = fieldsOf(
    raw,
    [
      'kind',
      'algorithms',
      'secret',
      'public_key',
      'jwks_url',
      'jwks_cache',
      'issuer',
      'audience',
      'prefixes_claim',
    ],
    'auth',
  );
  if (!f.ok) return f;
  const v = f.value;
  const sources = ['secret', 'public_key', 'jwks_url'].filter((k) => v[k] !== undefined);
  if (sources.length !== 1) return bad('auth needs exactly one of secret, public_key or jwks_url');
  const algorithms = v.algorithms ?? (v.secret !== undefined ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    !algorithms.every((a) => (JWT_ALGORITHMS as readonly unknown[]).includes(a))
  ) {
    return bad(`auth.algorithms is not a list of ${JWT_ALGORITHMS.join(', ')}`);
  }
  const hmac = algorithms.includes('HS256');
  if (hmac && v.secret === undefined) return bad('auth.algorithms has HS256, which needs auth.secret');
  if (v.secret !== undefined && algorithms.some((a) => a !== 'HS256')) {
    return bad('auth.secret verifies HS256 only; list algorithms: [HS256]');
  }
  if (v.secret !== undefined && !(typeof v.secret === 'string' && v.secret.length >= 32)) {
    return bad('auth.secret is not a string of at least 32 characters');
  }
  let publicKey: string | null = null;
  if (v.public_key !== undefined) {
    const key = publicKeyPem(v.public_key, 'auth.public_key');
    if (!key.ok) return key;
    publicKey = key.value;
  }
  if (v.jwks_url !== undefined && !(typeof v.jwks_url === 'string' && /^https?:\/\/\S+$/.test(v.jwks_url))) {
    return bad('auth.jwks_url is not an http:// or https:// URL');
  }
  const jwksCacheMs = parseDuration(v.jwks_cache ?? '10m');
  if (jwksCacheMs === null) return bad('auth.jwks_cache is not a duration');
  for (const name of ['issuer', 'audience', 'prefixes_claim'] as const) {
    if (v[name] !== undefined && !(typeof v[name] === 'string' && v[name] !== '')) {
      return bad(`auth.${name} is not a non-empty string`);
    }
  }
  return ok({
    kind: 'jwt',
    algorithms: algorithms as JwtAlgorithm[],
    secret: (v.secret as string | undefined) ?? null,
    publicKey,
    jwksUrl: (v.jwks_url as string | undefined) ?? null,
    jwksCacheMs,
    issuer: (v.issuer as string | undefined) ?? null,
    audience: (v.audience as string | undefined) ?? null,
    prefixesClaim: (v.prefixes_claim as string | undefined) ?? null,
  });
}

function link(raw: unknown): Parsed<ClientAuth> {
  const f = fieldsOf(raw, ['kind', 'public_keys'], 'auth');
  if (!f.ok) return f;
  const keys = f.value.public_keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    return bad('auth.public_keys is not a list of Ed25519 public keys (PEM text or file paths)');
  }
  const pems: string[] = [];
  for (const [i, k] of keys.entries()) {
    const key = publicKeyPem(k, `auth.public_keys item ${i}`);
    if (!key.ok) return key;
    if (createPublicKey(key.value).asymmetricKeyType !== 'ed25519') {
      return bad(`auth.public_keys item ${i} is not an Ed25519 key`);
    }
    pems.push(key.value);
  }
  return ok({ kind: 'link', publicKeys: pems });
}

/** PEM text, or the path of a file that holds it; a private key gives its public half. */
function publicKeyPem(raw: unknown, field: string): Parsed<string> {
  if (typeof raw !== 'string' || raw === '') return bad(`${field} is not PEM text or a file path`);
  let text = raw;
  if (!raw.includes('-----BEGIN')) {
    try {
      text = readFileSync(raw, 'utf8');
    } catch (err) {
      return bad(`${field} names ${raw}, which cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  try {
    return ok(createPublicKey(text).export({ type: 'spki', format: 'pem' }).toString());
  } catch {
    return bad(`${field} is not a PEM public key`);
  }
}

/** The digest a bearer token is stored as (docs/gateway.md shows how to make one). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
