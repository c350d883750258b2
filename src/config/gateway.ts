// The `gateway` section: listeners of their own and routes that map a path prefix (or a Host) to a bucket
// Kura reads with its own credentials (docs/gateway.md). Each problem names the route and the field,
// because a route is a list item whose mistakes would otherwise all point at `gateway.routes`.

import { isIP } from 'node:net';
import { bad, fieldsOf, ok, type Parsed } from './fields.js';
import { type ClientAuth, parseClientAuth } from './gateway-auth.js';
import { parseDuration } from './units.js';

export type { ClientAuth } from './gateway-auth.js';

/** `host:port` a gateway listener binds; port 0 picks a free port. */
export interface GatewayListen {
  host: string;
  port: number;
}

export type GatewayCredentials =
  /** The AWS default chain: environment, shared files and profiles, SSO, web identity, container, instance. */
  | { kind: 'default'; profile: string | null }
  | { kind: 'static'; accessKeyId: string; secretAccessKey: string; sessionToken: string | null };

export type GatewayOrigin =
  /** Amazon S3 in a region: virtual-hosted `bucket.s3.<region>.amazonaws.com` (path style for dotted names). */
  | { kind: 'aws'; region: string }
  /** An S3-compatible store at a URL, path style; `region` is the one its signatures name. */
  | { kind: 'url'; url: string; region: string; tlsVerify: boolean };

/** A copy of the route's bucket elsewhere (another region, another store), read when those before fail. */
export interface GatewayReplica {
  origin: GatewayOrigin;
  bucket: string;
}

/** When an origin is skipped (docs/gateway.md, Replicas). */
export interface GatewayBreaker {
  /** Consecutive failures (no answer, or 5xx) that open the circuit. */
  failures: number;
  /** How long an open circuit skips the origin before one probe request may try it again. */
  openMs: number;
}

export interface GatewayCors {
  /** Allowed `Origin` values; `*` allows any. */
  origins: string[];
  maxAgeSeconds: number;
}

export interface GatewayRoute {
  /** For messages and logs: the prefix or host that selects the route. */
  name: string;
  /** Path prefix, starting and ending with `/` (`/` matches every path). */
  prefix: string;
  /** When set, only requests whose Host names it (without port, lower case). */
  host: string | null;
  origin: GatewayOrigin;
  bucket: string;
  /** Tried in order when the origin (and the replicas before) fail; empty: none. */
  replicas: GatewayReplica[];
  breaker: GatewayBreaker;
  /** Prepended to the key the path names (the client cannot escape it: S3 does not normalise keys). */
  keyPrefix: string;
  credentials: GatewayCredentials;
  access: 'read-only' | 'read-write';
  auth: ClientAuth;
  cors: GatewayCors | null;
}

export interface GatewayConfig {
  listen: GatewayListen[];
  routes: GatewayRoute[];
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

export function parseListen(raw: unknown): Parsed<GatewayListen> {
  if (typeof raw !== 'string') return bad('is not host:port');
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw.trim());
  const host = m?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '';
  const port = Number(m?.[2]);
  if (!m || !(isIP(host) !== 0 || HOSTNAME.test(host)) || port > 65535) {
    return bad('is not host:port (like 127.0.0.1:9080, or port 0 for any free port)');
  }
  return ok({ host, port });
}

function nonEmpty(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.length > 0;
}

export function parseRoutes(raw: unknown): Parsed<GatewayRoute[]> {
  if (raw === null) return ok([]);
  if (!Array.isArray(raw)) return bad('is not a list of routes');
  // The problems read "gateway.routes: route 2 (/media/): bucket ... is not ...".
  const routes: GatewayRoute[] = [];
  for (const [i, item] of raw.entries()) {
    const route = parseRoute(item);
    if (!route.ok) return bad(`route ${i}${label(item)}: ${route.problem}`);
    const clash = routes.find((r) => r.prefix === route.value.prefix && r.host === route.value.host);
    if (clash) return bad(`route ${i}${label(item)}: same prefix and host as route ${routes.indexOf(clash)}`);
    routes.push(route.value);
  }
  return ok(routes);
}

/** ` (/prefix/)` or ` (host)`, so that an operator finds the route without counting. */
function label(item: unknown): string {
  if (!item || typeof item !== 'object') return '';
  const { prefix, host } = item as Record<string, unknown>;
  const name = [host, prefix].filter((x) => typeof x === 'string').join('');
  return name === '' ? '' : ` (${name})`;
}

const ROUTE_FIELDS = [
  'prefix',
  'host',
  'origin',
  'bucket',
  'key_prefix',
  'credentials',
  'access',
  'auth',
  'cors',
  'replicas',
  'breaker',
] as const;

function parseRoute(raw: unknown): Parsed<GatewayRoute> {
  const f = fieldsOf(raw, ROUTE_FIELDS, 'entry');
  if (!f.ok) return f;
  const v = f.value;
  if (v.prefix === undefined && v.host === undefined) return bad('entry has neither prefix nor host');
  const prefix = v.prefix ?? '/';
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || !prefix.endsWith('/')) {
    return bad(`prefix ${JSON.stringify(prefix)} does not start and end with /`);
  }
  if (v.host !== undefined && !(nonEmpty(v.host) && HOSTNAME.test(v.host))) {
    return bad(`host ${JSON.stringify(v.host)} is not a host name`);
  }
  const host = v.host === undefined ? null : (v.host as string).toLowerCase();
  if (!nonEmpty(v.bucket) || !BUCKET.test(v.bucket)) {
    return bad(`bucket ${JSON.stringify(v.bucket)} is not an S3 bucket name`);
  }
  const keyPrefix = v.key_prefix ?? '';
  if (typeof keyPrefix !== 'string') return bad('key_prefix is not a string');
  const origin = parseOrigin(v.origin);
  if (!origin.ok) return origin;
  const credentials = parseCredentials(v.credentials);
  if (!credentials.ok) return credentials;
  const access = v.access ?? 'read-only';
  if (access !== 'read-only' && access !== 'read-write') {
    return bad(`access ${JSON.stringify(access)} is not read-only or read-write`);
  }
  const auth = parseClientAuth(v.auth);
  if (!auth.ok) return auth;
  const cors = parseCors(v.cors);
  if (!cors.ok) return cors;
  const replicas = parseReplicas(v.replicas, v.bucket);
  if (!replicas.ok) return replicas;
  const breaker = parseBreaker(v.breaker);
  if (!breaker.ok) return breaker;
  return ok({
    name: host === null ? prefix : `${host}${prefix}`,
    prefix,
    host,
    origin: origin.value,
    bucket: v.bucket,
    replicas: replicas.value,
    breaker: breaker.value,
    keyPrefix,
    credentials: credentials.value,
    access,
    auth: auth.value,
    cors: cors.value,
  });
}

function parseReplicas(raw: unknown, bucket: string): Parsed<GatewayReplica[]> {
  if (raw === undefined || raw === null) return ok([]);
  if (!Array.isArray(raw)) return bad('replicas is not a list of origins');
  const out: GatewayReplica[] = [];
  for (const [i, item] of raw.entries()) {
    const field = `replicas item ${i}`;
    let replicaBucket = bucket;
    let originRaw: unknown = item;
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      const { bucket: b, ...rest } = item as Record<string, unknown>;
      if (b !== undefined) {
        if (!nonEmpty(b) || !BUCKET.test(b))
          return bad(`${field} bucket ${JSON.stringify(b)} is not an S3 bucket name`);
        replicaBucket = b;
      }
      originRaw = rest;
    }
    const origin = parseOrigin(originRaw, field);
    if (!origin.ok) return origin;
    out.push({ origin: origin.value, bucket: replicaBucket });
  }
  return ok(out);
}

function parseBreaker(raw: unknown): Parsed<GatewayBreaker> {
  if (raw === undefined || raw === null) return ok({ failures: 3, openMs: 30_000 });
  const f = fieldsOf(raw, ['failures', 'open_for'], 'breaker');
  if (!f.ok) return f;
  const { failures = 3, open_for = '30s' } = f.value;
  if (typeof failures !== 'number' || !Number.isInteger(failures) || failures < 1 || failures > 1000) {
    return bad('breaker.failures is not an integer 1-1000');
  }
  const openMs = parseDuration(open_for);
  if (openMs === null || openMs <= 0)
    return bad(`breaker.open_for ${JSON.stringify(open_for)} is not a duration`);
  return ok({ failures, openMs });
}

function parseOrigin(raw: unknown, field = 'origin'): Parsed<GatewayOrigin> {
  if (raw === undefined) return bad(`${field} is missing (a region, or {url, region})`);
  if (typeof raw === 'string') {
    return REGION.test(raw)
      ? ok({ kind: 'aws', region: raw })
      : bad(`${field} ${JSON.stringify(raw)} is not an AWS region (like us-east-1)`);
  }
  const f = fieldsOf(raw, ['region', 'url', 'tls_verify'], field);
  if (!f.ok) return f;
  const { region = 'us-east-1', url, tls_verify = true } = f.value;
  if (typeof region !== 'string' || !REGION.test(region)) {
    return bad(`${field}.region ${JSON.stringify(region)} is not a region (like us-east-1)`);
  }
  if (typeof tls_verify !== 'boolean') return bad(`${field}.tls_verify is not true or false`);
  if (url === undefined) return ok({ kind: 'aws', region });
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return bad(`${field}.url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return bad(`${field}.url ${JSON.stringify(url)} is not an http:// or https:// URL`);
  }
  if (parsed.pathname !== '/' || parsed.search || parsed.username) {
    return bad(`${field}.url ${JSON.stringify(url)} must be scheme://host[:port] only`);
  }
  return ok({ kind: 'url', url: parsed.origin, region, tlsVerify: tls_verify });
}

function parseCredentials(raw: unknown): Parsed<GatewayCredentials> {
  if (raw === undefined || raw === 'default') return ok({ kind: 'default', profile: null });
  const f = fieldsOf(raw, ['profile', 'access_key_id', 'secret_access_key', 'session_token'], 'credentials');
  if (!f.ok) return f;
  const { profile, access_key_id, secret_access_key, session_token } = f.value;
  if (profile !== undefined) {
    if (!nonEmpty(profile)) return bad('credentials.profile is not a profile name');
    if (access_key_id !== undefined) return bad('credentials has both profile and access_key_id');
    return ok({ kind: 'default', profile });
  }
  if (!nonEmpty(access_key_id)) return bad('credentials.access_key_id is missing or empty');
  if (!nonEmpty(secret_access_key)) return bad('credentials.secret_access_key is missing or empty');
  if (session_token !== undefined && !nonEmpty(session_token)) {
    return bad('credentials.session_token is not a string');
  }
  return ok({
    kind: 'static',
    accessKeyId: access_key_id,
    secretAccessKey: secret_access_key,
    sessionToken: session_token ?? null,
  });
}

function parseCors(raw: unknown): Parsed<GatewayCors | null> {
  if (raw === undefined || raw === null) return ok(null);
  const f = fieldsOf(raw, ['origins', 'max_age'], 'cors');
  if (!f.ok) return f;
  const { origins, max_age = '10m' } = f.value;
  if (!Array.isArray(origins) || origins.length === 0 || !origins.every(nonEmpty)) {
    return bad('cors.origins is not a list of origins (like https://app.example.com, or *)');
  }
  const bad_ = origins.find((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o));
  if (bad_ !== undefined)
    return bad(`cors.origins has ${JSON.stringify(bad_)}, not scheme://host[:port] or *`);
  const ms = parseDuration(max_age);
  if (ms === null) return bad(`cors.max_age ${JSON.stringify(max_age)} is not a duration`);
  return ok({ origins: origins as string[], maxAgeSeconds: Math.round(ms / 1000) });
}

/** Written in place of secrets by `kura config check`, which prints the effective config. */
export const REDACTED = '(redacted)';

/** A route as it would be written in the file, secrets redacted (`kura config check` prints it). */
export function showRoute(r: GatewayRoute): Record<string, unknown> {
  const out: Record<string, unknown> = { prefix: r.prefix };
  if (r.host !== null) out.host = r.host;
  const o = showOrigin(r.origin);
  out.origin = r.origin.kind === 'aws' ? r.origin.region : o;
  out.bucket = r.bucket;
  if (r.replicas.length > 0) {
    out.replicas = r.replicas.map((x) => ({ ...showOrigin(x.origin), bucket: x.bucket }));
  }
  out.breaker = { failures: r.breaker.failures, open_for: `${r.breaker.openMs / 1000}s` };
  out.key_prefix = r.keyPrefix;
  const c = r.credentials;
  out.credentials =
    c.kind === 'default'
      ? c.profile === null
        ? 'default'
        : { profile: c.profile }
      : {
          access_key_id: c.accessKeyId,
          secret_access_key: REDACTED,
          ...(c.sessionToken === null ? {} : { session_token: REDACTED }),
        };
  out.access = r.access;
  out.auth = showAuth(r.auth);
  if (r.cors !== null) out.cors = { origins: r.cors.origins, max_age: `${r.cors.maxAgeSeconds}s` };
  return out;
}

function showOrigin(o: GatewayOrigin): Record<string, unknown> {
  return o.kind === 'aws' ? { region: o.region } : { url: o.url, region: o.region, tls_verify: o.tlsVerify };
}

function showAuth(a: ClientAuth): unknown {
  switch (a.kind) {
    case 'none':
      return 'none';
    case 'bearer':
      return { kind: 'bearer', token_sha256: a.tokenHashes };
    case 'link':
      return { kind: 'link', public_keys: a.publicKeys };
    case 'jwt':
      return {
        kind: 'jwt',
        algorithms: a.algorithms,
        ...(a.secret === null ? {} : { secret: REDACTED }),
        ...(a.publicKey === null ? {} : { public_key: a.publicKey }),
        ...(a.jwksUrl === null ? {} : { jwks_url: a.jwksUrl, jwks_cache: `${a.jwksCacheMs / 1000}s` }),
        ...(a.issuer === null ? {} : { issuer: a.issuer }),
        ...(a.audience === null ? {} : { audience: a.audience }),
        ...(a.prefixesClaim === null ? {} : { prefixes_claim: a.prefixesClaim }),
      };
  }
}
