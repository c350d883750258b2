// The configuration schema: every field, its default and its meaning, in one place. The typed config,
// validation, `kura config check` and the example file all follow from this tree.

import { isIP } from 'node:net';
import { HIT_AUTH_LEVELS, parseCidr } from './access.js';
import {
  bad,
  custom,
  duration,
  type Field,
  list,
  listenHost,
  map,
  ok,
  oneOf,
  optionalText,
  type Parsed,
  percent,
  port,
  size,
  text,
} from './fields.js';
import { type GatewayListen, type GatewayRoute, parseListen, parseRoutes, showRoute } from './gateway.js';

/** Where requests for a host go instead of `https://<Host>:443`. */
export interface Override {
  /** `http://host:port` or `https://host:port`, no path. */
  url: string;
  /** TLS certificate verification toward an `https` override; off only when explicitly configured. */
  tls_verify: boolean;
}

/** `name`, `*.suffix`, or `*`; case-insensitive, without a port. */
const HOST_PATTERN = /^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*)$/i;

function hostPattern(raw: unknown): Parsed<string> {
  return typeof raw === 'string' && HOST_PATTERN.test(raw)
    ? ok(raw.toLowerCase())
    : bad('is not a host pattern (a name, or *.suffix)');
}

/** An override key may name a port (`127.0.0.1:9000`), since local origins are told apart by port. */
function overrideKey(key: string): boolean {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(key);
  const host = m?.[1] ?? '';
  const hostOk = HOST_PATTERN.test(host) || isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0;
  return hostOk && (m?.[2] === undefined || Number(m[2]) <= 65535);
}

function originUrl(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string') return bad('is not a URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad('is not an http:// or https:// URL');
  // A path prefix would change the path S3 sees, and with it the signature.
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    return bad('must be scheme://host[:port] only, without path, query or credentials');
  }
  return ok(url.origin);
}

function override(key: string, raw: unknown): Parsed<Override> {
  if (!overrideKey(key)) return bad('is not keyed by a host, host:port, *.suffix or *');
  if (typeof raw === 'string') {
    const url = originUrl(raw);
    return url.ok ? ok({ url: url.value, tls_verify: true }) : url;
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const { url, tls_verify = true, ...rest } = raw as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) return bad(`has unknown field ${unknown[0]} (allowed: url, tls_verify)`);
    const u = originUrl(url);
    if (!u.ok) return u;
    if (typeof tls_verify !== 'boolean') return bad('has tls_verify that is not true or false');
    return ok({ url: u.value, tls_verify });
  }
  return bad('is not a URL or {url, tls_verify}');
}

function dnsServer(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string') return bad('is not an IP address');
  const bare = raw.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
  return isIP(bare) !== 0 ? ok(raw) : bad('is not an IP address (optionally with :port)');
}

/** `Name: value`, a header Kura adds to identify itself upstream (never when the client signed it). */
function headerLine(raw: unknown): Parsed<{ name: string; value: string } | null> {
  if (raw === null) return ok(null);
  const m = typeof raw === 'string' ? /^([!#$%&'*+.^_`|~0-9a-z-]+):\s*([\x20-\x7e]*)$/i.exec(raw) : null;
  if (!m) return bad('is not a header line like "Referer: kura"');
  const name = (m[1] as string).toLowerCase();
  if (['host', 'authorization', 'content-length', 'transfer-encoding', 'connection'].includes(name)) {
    return bad(`names ${name}, which Kura must never add`);
  }
  return ok({ name, value: (m[2] as string).trim() });
}

function otlpHeader(name: string, raw: unknown): Parsed<string> {
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) return bad('is not a header name');
  if (typeof raw !== 'string' || !/^[\x20-\x7e]*$/.test(raw))
    return bad('is not a header value (printable text)');
  return ok(raw);
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (a /32 or /128). */
function cidr(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string') return bad('is not a CIDR range (like 10.0.0.0/8)');
  return parseCidr(raw) === null ? bad('is not a CIDR range (like 10.0.0.0/8)') : ok(raw.trim());
}

/** `auto`, or an integer 1-1024: more processes than that only share the same cores. */
function parseWorkers(raw: unknown): Parsed<number | 'auto'> {
  if (raw === 'auto') return ok('auto');
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? ok(n) : bad('is not auto or an integer 1-1024');
}

export const schema = {
  server: {
    http_host: listenHost('0.0.0.0', 'address of the :80 and :443 listeners'),
    http_port: port(80, 'HTTP listener that forwards and caches S3 requests; 0 picks a free port', {
      zero: 'ephemeral',
    }),
    https_port: port(443, 'raw TCP passthrough by SNI; 0 turns it off', { zero: 'off' }),
    tls_port: port(3129, 'TLS listener that caches; off until tls.cert and tls.key are set', { zero: 'off' }),
    tls: {
      cert: optionalText('PEM certificate chain for tls_port'),
      key: optionalText('PEM private key for tls_port'),
    },
    max_header_size: size(64 * 1024, 'largest request header section accepted (S3 allows 8 KiB of its own)', {
      min: 8 * 1024,
      max: 1024 * 1024,
    }),
    header_timeout: duration(30_000, 'time a client has to send its request headers'),
    keep_alive_timeout: duration(60_000, 'idle time before a client connection is closed'),
    shutdown_grace: duration(
      30_000,
      'on SIGTERM or SIGINT, how long requests in flight may take to finish before they are cut',
    ),
    allow_clients: list<string>(
      [],
      'client addresses allowed (CIDR ranges like 10.0.0.0/8); empty: every client. Others get 403 AccessDenied',
      cidr,
    ),
    workers: custom<number | 'auto'>(
      'auto',
      "processes serving the listeners; auto: one per core (the machine's available parallelism)",
      parseWorkers,
    ),
  },
  admin: {
    host: listenHost('127.0.0.1', 'address of /health/live, /health/ready, /metrics and the dashboard'),
    port: port(8080, 'admin port; 0 turns it off', { zero: 'off' }),
  },
  cache: {
    dir: text('/var/cache/kura', 'the shared volume'),
    max_size: size(100 * 2 ** 30, 'capacity of the volume that Kura may fill (chunks and records)', {
      min: 2 ** 20,
    }),
    eviction_trigger: percent(90, 'the leader starts evicting when the volume holds this share of max_size'),
    eviction_target: percent(80, '...and evicts down to this share (below eviction_trigger)'),
    min_free: percent(
      2,
      "free space left on the volume's file system (share of its size): the cache holds at most max_size, or less when the disk is smaller",
      { min: 0 },
    ),
    admission_window: duration(
      60_000,
      'data younger than this is not evicted unless the volume is critically full',
    ),
    write_share: percent(
      50,
      'share of max_size that objects cached by writes through Kura (PUT, multipart) may hold',
      { min: 0 },
    ),
    expiration: oneOf(
      'lazy',
      ['lazy', 'active'] as const,
      'lazy keeps expired entries for 304 revalidation; active lets the leader remove them',
    ),
    upload_ttl: duration(86_400_000, 'multipart staging directories older than this are removed'),
    leader_stale: duration(
      30_000,
      'a maintenance leader silent this long is replaced; keep it well above NFS attribute caching',
    ),
    record_recheck: duration(
      0,
      "how long a record read from the volume answers hits without a look at the volume (0: the change mark is looked at once per event-loop turn, and a record's file only once the mark has moved); another instance's change is seen within this time",
    ),
    journal_flush: duration(2_000, 'how often each instance appends its events to its journal'),
    journal_segment_size: size(4 * 2 ** 20, 'a journal segment is closed at this size...', {
      min: 4096,
    }),
    journal_segment_age: duration(10_000, '...or this age, and then consolidated by the leader'),
    lease_time: duration(
      30_000,
      'how long a fetch lease holds; others wait up to this for the chunks it brings',
    ),
    scan_interval: duration(
      3_600_000,
      'one pass of the rolling scan: sweeps, and size accounting corrected from the files',
    ),
    chunk_size: size(2 ** 20, 'chunk grid of the volume; fixed when the volume is created', {
      min: 64 * 1024,
      max: 64 * 2 ** 20,
    }),
    ram_size: size(512 * 2 ** 20, 'in-memory tier for hot chunks'),
    hit_auth: oneOf(
      'signed',
      HIT_AUTH_LEVELS,
      'who may read a fresh hit: any (anyone), signed (a current signature whose access key S3 recently let read the bucket), s3 (S3 judges every hit)',
    ),
    get_ttl: duration(86_400_000, 'how long a GET answer is served without asking S3'),
    head_ttl: duration(60_000, 'how long a HEAD answer is served without asking S3'),
    list_ttl: duration(
      0,
      "how long a ListObjects answer is served to the same credential without asking S3 (a write through Kura drops its bucket's listings at once); 0 never",
    ),
    rules: optionalText('path of the cache rules file (globs over bucket/key)'),
    stale_if_error: duration(
      0,
      'how long past its TTL an entry may still be served when S3 answers 5xx or cannot be reached; 0 never',
    ),
    write_max_object_size: size(
      5 * 2 ** 30,
      'largest object a PUT or multipart upload through Kura is cached for; larger ones are only forwarded',
    ),
    fetch_merge_gap: size(
      2 ** 20,
      'missing chunk runs closer than this are fetched from S3 as one range (re-reading the cached gap)',
      { max: 1024 * 2 ** 20 },
    ),
  },
  upstream: {
    allow: list(['*.amazonaws.com'], 'hosts Kura may reach, besides every override', hostPattern),
    overrides: map<Override>(
      'host, host:port, *.suffix or * -> URL (or {url, tls_verify}), e.g. "*": "http://127.0.0.1:9000"',
      override,
      (o) => (o.tls_verify ? o.url : o),
    ),
    dns_servers: list<string>(
      [],
      "resolvers for S3 names; empty: the system's servers, never /etc/hosts",
      dnsServer,
    ),
    connect_timeout: duration(10_000, 'time to open a connection to S3 before answering 502/504'),
    first_byte_timeout: duration(60_000, 'time S3 has to send response headers before Kura answers 504'),
    idle_timeout: duration(300_000, 'longest silence inside a response body before the transfer is cut'),
    connections: custom<number>(256, 'most connections (requests in flight) per upstream host', (raw) => {
      const n = typeof raw === 'number' ? raw : Number.NaN;
      return Number.isInteger(n) && n >= 1 && n <= 65536 ? ok(n) : bad('is not an integer 1-65536');
    }),
    read_reserve: custom<number>(
      64,
      'connections per upstream host that requests with a body (uploads) never take: kept for reads',
      (raw) => {
        const n = typeof raw === 'number' ? raw : Number.NaN;
        return Number.isInteger(n) && n >= 0 && n <= 65535 ? ok(n) : bad('is not an integer 0-65535');
      },
    ),
    queue_timeout: duration(
      10_000,
      'longest wait for a free upstream connection before answering 503 SlowDown',
    ),
    identify: custom<{ name: string; value: string } | null>(
      null,
      'header line added to every upstream request unless the client signed that header, e.g. "Referer: kura"',
      headerLine,
      (v) => (v ? `${v.name}: ${v.value}` : null),
    ),
  },
  gateway: {
    listen: list<GatewayListen>(
      [],
      'gateway listeners (host:port), where clients without AWS credentials read through routes; empty: off',
      parseListen,
      (v) => v.map((l) => `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`),
    ),
    routes: {
      ...custom<GatewayRoute[]>(
        [],
        'gateway routes: path prefix or host -> origin, bucket, key_prefix, credentials, access, auth, cors (docs/gateway.md)',
        parseRoutes,
        (v) => v.map(showRoute),
      ),
      echo: false,
    },
  },
  telemetry: {
    otlp: {
      endpoint: optionalText(
        'OTLP/HTTP metrics endpoint, e.g. http://collector:4318 (a bare endpoint gets /v1/metrics); null turns export off',
      ),
      interval: duration(15_000, 'OTLP export interval'),
      timeout: duration(10_000, 'longest time one OTLP export may take'),
      headers: map<string>(
        'headers sent with every OTLP export, e.g. authorization: "Bearer …"',
        otlpHeader,
        (v) => v,
      ),
    },
  },
  log: {
    level: oneOf('info', ['error', 'warn', 'info', 'debug'] as const, 'error, warn, info or debug'),
    access: text('stdout', 'access log: stdout, a file path (reopened on SIGHUP), or off'),
    access_format: oneOf(
      'json',
      ['json', 's3'] as const,
      'access log lines: json, or s3 (the S3 server access log format)',
    ),
  },
} as const;

type ConfigOf<S> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : ConfigOf<S[K]> };

export type KuraConfig = ConfigOf<typeof schema>;
export type Schema = typeof schema;

export function isField(node: unknown): node is Field<unknown> {
  return typeof node === 'object' && node !== null && 'parse' in node && 'default' in node;
}
