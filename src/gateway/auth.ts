// Who may use a gateway route (docs/gateway.md, Client authentication): each route checks its clients
// by the kind its config names. A request that passes may read what the route serves, or, with a JWT
// whose claim lists key prefixes, the keys under them only.

import type { KeyObject } from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { JWTVerifyGetKey } from 'jose';
import type { ClientAuth } from '../config/gateway.js';
import { tokenDigest } from '../config/gateway-auth.js';
import { accessDenied, unauthorized as unauthorizedError } from '../s3/errors.js';
import type { S3ErrorSpec } from '../s3/types.js';
import { publicKeysOf, verifyLink } from './link.js';

export type AuthVerdict =
  | {
      ok: true /** Key prefixes below the route the client may use; null: all of them. */;
      prefixes: string[] | null;
    }
  | (S3ErrorSpec & { ok: false; challenge?: string });

export interface AuthRequest {
  method: string;
  /** The path as sent, without the query. */
  path: string;
  query: URLSearchParams;
  req: IncomingMessage;
}

export type Authenticator = (r: AuthRequest) => Promise<AuthVerdict>;

const ALLOW_ALL: AuthVerdict = { ok: true, prefixes: null };

export function authenticator(auth: ClientAuth): Authenticator {
  switch (auth.kind) {
    case 'none':
      return async () => ALLOW_ALL;
    case 'bearer':
      return bearerAuth(auth.tokenHashes);
    case 'jwt':
      return jwtAuth(auth);
    case 'link':
      return linkAuth(publicKeysOf(auth.publicKeys));
  }
}

function bearerToken(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? (m[1] as string) : null;
}

function unauthorized(message: string, error?: string): AuthVerdict {
  const challenge = error ? `Bearer realm="kura", error="${error}"` : 'Bearer realm="kura"';
  return { ok: false, ...unauthorizedError(message), challenge };
}

function bearerAuth(hashes: readonly string[]): Authenticator {
  const digests = hashes.map((h) => Buffer.from(h, 'hex'));
  return async ({ req }) => {
    const token = bearerToken(req);
    if (token === null) return unauthorized('This route needs an Authorization: Bearer token');
    const given = Buffer.from(tokenDigest(token), 'hex');
    // Every digest is compared, in constant time, so the answer's timing tells nothing about which is close.
    let match = false;
    for (const d of digests) match = timingSafeEqual(d, given) || match;
    return match ? ALLOW_ALL : unauthorized('The bearer token is not valid for this route', 'invalid_token');
  };
}

type JwtAuth = Extract<ClientAuth, { kind: 'jwt' }>;

type Jose = typeof import('jose');

/** A secret or public key, checked when the route is made; null for a key set, which needs jose. */
function givenKey(auth: JwtAuth): KeyObject | Uint8Array | null {
  if (auth.secret !== null) return new TextEncoder().encode(auth.secret);
  if (auth.publicKey !== null) return publicKeysOf([auth.publicKey])[0] as KeyObject;
  return null;
}

function keySet(jose: Jose, auth: JwtAuth): JWTVerifyGetKey {
  // jose caches the key set for jwks_cache and fetches it again (at most every 30 s, or jwks_cache when
  // shorter) when a token names a key id it does not hold: a rotated key is picked up on its first use.
  return jose.createRemoteJWKSet(new URL(auth.jwksUrl as string), {
    cacheMaxAge: auth.jwksCacheMs,
    cooldownDuration: Math.min(30_000, auth.jwksCacheMs),
    timeoutDuration: 5_000,
  });
}

function jwtAuth(auth: JwtAuth): Authenticator {
  const given = givenKey(auth);
  // jose is loaded by a Kura with a JWT route only: its code would otherwise sit in every process's heap,
  // which V8 grows in proportion to (docs/operations.md, Memory).
  const ready = import('jose').then((jose) => ({ jose, key: given ?? keySet(jose, auth) }));
  // Marked handled here; every request on the route still sees a failure to load.
  ready.catch(() => {});
  const options = {
    algorithms: auth.algorithms,
    requiredClaims: ['exp'],
    ...(auth.issuer === null ? {} : { issuer: auth.issuer }),
    ...(auth.audience === null ? {} : { audience: auth.audience }),
  };
  return async ({ req }) => {
    const token = bearerToken(req);
    if (token === null) return unauthorized('This route needs an Authorization: Bearer token (a JWT)');
    const { jose, key } = await ready;
    let payload: Record<string, unknown>;
    try {
      payload = (
        typeof key === 'function'
          ? await jose.jwtVerify(token, key, options)
          : await jose.jwtVerify(token, key, options)
      ).payload;
    } catch (err) {
      return unauthorized(jwtProblem(jose.errors, err), 'invalid_token');
    }
    if (auth.prefixesClaim === null) return ALLOW_ALL;
    const prefixes = claimList(payload[auth.prefixesClaim]);
    if (prefixes === null) {
      return { ok: false, ...accessDenied(`The token has no ${auth.prefixesClaim} claim`) };
    }
    return { ok: true, prefixes };
  };
}

/** A list of strings, or one space-separated string (the way OAuth writes `scope`). */
function claimList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return null;
}

/** What the client may learn of why its token failed: the check, not the key material. */
function jwtProblem(errors: Jose['errors'], err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `The token's ${err.claim} claim is not accepted`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The token signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return "The token's algorithm is not accepted";
  if (err instanceof errors.JWKSNoMatchingKey) return 'No key of the key set matches the token';
  if (err instanceof errors.JOSEError) return `The token is not valid (${err.code})`;
  return 'The token is not valid';
}

function linkAuth(keys: readonly KeyObject[]): Authenticator {
  return async ({ method, path, query }) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return { ok: false, ...accessDenied('The path is not valid percent-encoding') };
    }
    const verdict = verifyLink(keys, method, decoded, query, Math.floor(Date.now() / 1000));
    if (verdict.ok) return ALLOW_ALL;
    const message = {
      missing: 'This route needs a link signed by kura sign',
      malformed: 'The link parameters are malformed',
      expired: 'The link has expired',
      'bad-signature': 'The link signature does not match this method and path',
    }[verdict.reason];
    return { ok: false, ...accessDenied(message) };
  };
}
