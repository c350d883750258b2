// `kura warm`: reads every object under a prefix through Kura, so that later reads are hits. Two ways:
//   kura warm s3://bucket/prefix --endpoint http://kura:80       the caller's AWS credentials (the
//       default chain) sign the listing and every GET, which go through Kura's transparent listener;
//   kura warm http://gateway:9080/media/photos/ -c kura.yaml     the listing is signed with the route's
//       credentials (from the config) and sent to its origin; the GETs go through the gateway listener,
//       with --header for the route's client authentication.
// A progress bar on stderr (when it is a terminal), a summary on stdout; exit 1 when any read failed.

import { request } from 'undici';
import type { KuraConfig } from '../config/schema.js';
import { credentialProvider, defaultChain } from '../gateway/credentials.js';
import { encodeKeyPath } from '../gateway/link.js';
import { originTarget } from '../gateway/origin.js';
import { SigningSender } from '../gateway/signer.js';
import type { UpstreamRequest, UpstreamResponse, UpstreamSender } from '../upstream/client.js';
import { listKeys } from './warm-list.js';

export interface WarmOptions {
  endpoint?: string;
  region: string;
  concurrency: string;
  header: string[];
}

export interface WarmIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Where the progress bar goes; null: none. */
  progress: ((line: string) => void) | null;
}

/** Sends a signed request with undici, which, unlike fetch, sends the Host header it is given. */
const direct: UpstreamSender = {
  async send(route, req: UpstreamRequest): Promise<UpstreamResponse> {
    const headers: Record<string, string> = {};
    for (let i = 0; i + 1 < req.headers.length; i += 2)
      headers[req.headers[i] as string] = req.headers[i + 1] as string;
    const res = await request(`${route.origin}${req.path}`, { method: req.method as 'GET', headers });
    const flat: string[] = [];
    for (const [k, v] of Object.entries(res.headers)) flat.push(k, String(v));
    return { status: res.statusCode, statusText: '', headers: flat, body: res.body };
  },
};

/** One GET to warm, as the command sends it. */
type Read = { key: string; send(): Promise<{ status: number; bytes: number }> };

export async function warmCommand(
  target: string,
  opts: WarmOptions,
  config: KuraConfig | null,
  io: WarmIo,
): Promise<number> {
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    io.err(`kura warm: --concurrency ${opts.concurrency} is not an integer 1-256`);
    return 2;
  }
  const plan = target.startsWith('s3://')
    ? transparentPlan(target, opts, io)
    : config === null
      ? null
      : gatewayPlan(target, opts, config, io);
  if (plan === null) return 2;
  let keys: string[];
  try {
    keys = await listKeys(plan.lister, plan.listPath, plan.prefix);
  } catch (err) {
    io.err(`kura warm: cannot list ${target}: ${(err as Error).message}`);
    return 1;
  }
  const reads = keys.map(plan.read);
  const started = performance.now();
  const done = { ok: 0, failed: 0, bytes: 0 };
  const failures: string[] = [];
  const bar = (): void =>
    io.progress?.(progressLine(done.ok + done.failed, reads.length, done.bytes, performance.now() - started));
  let next = 0;
  const worker = async () => {
    while (next < reads.length) {
      const r = reads[next++] as Read;
      try {
        const res = await r.send();
        if (res.status === 200) {
          done.ok += 1;
          done.bytes += res.bytes;
        } else {
          done.failed += 1;
          failures.push(`${r.key}: HTTP ${res.status}`);
        }
      } catch (err) {
        done.failed += 1;
        failures.push(`${r.key}: ${(err as Error).message}`);
      }
      bar();
    }
  };
  bar();
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, reads.length)) }, worker));
  io.progress?.('\n');
  const seconds = (performance.now() - started) / 1000;
  io.out(
    `warmed ${done.ok} of ${reads.length} objects, ${formatBytes(done.bytes)} in ${seconds.toFixed(1)} s` +
      (done.failed > 0 ? `; ${done.failed} failed` : ''),
  );
  for (const f of failures.slice(0, 20)) io.out(`  failed: ${f}`);
  return done.failed > 0 ? 1 : 0;
}

interface Plan {
  lister: {
    sender: UpstreamSender;
    route: { origin: string; via: 'override'; tlsVerify: boolean };
    host: string;
  };
  /** The bucket's path for ListObjectsV2 (`/bucket` or `/`). */
  listPath: string;
  prefix: string;
  read: (key: string) => Read;
}

async function drain(res: UpstreamResponse): Promise<number> {
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return bytes;
}

function transparentPlan(target: string, opts: WarmOptions, io: WarmIo): Plan | null {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(target);
  if (!m || !opts.endpoint) {
    io.err('kura warm: s3://bucket/prefix needs --endpoint, the URL of Kura (e.g. http://kura.internal)');
    return null;
  }
  const [, bucket, prefix] = m as unknown as [string, string, string];
  const endpoint = new URL(opts.endpoint);
  const route = { origin: endpoint.origin, via: 'override' as const, tlsVerify: true };
  const sender = new SigningSender(direct, defaultChain(), opts.region);
  return {
    lister: { sender, route, host: endpoint.host },
    listPath: `/${bucket}`,
    prefix,
    read: (key) => ({
      key,
      send: async () => {
        const path = `/${bucket}/${encodeKeyPath(key)}`;
        const res = await sender.send(route, {
          method: 'GET',
          path,
          headers: ['host', endpoint.host],
          body: null,
          signal: new AbortController().signal,
        });
        return { status: res.status, bytes: await drain(res) };
      },
    }),
  };
}

function gatewayPlan(target: string, opts: WarmOptions, config: KuraConfig, io: WarmIo): Plan | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    io.err(`kura warm: ${target} is neither s3://bucket/prefix nor a gateway URL`);
    return null;
  }
  const host = url.hostname.toLowerCase();
  const routes = [...config.gateway.routes].sort((a, b) => b.prefix.length - a.prefix.length);
  const route = routes.find((r) => (r.host === null || r.host === host) && url.pathname.startsWith(r.prefix));
  if (!route) {
    io.err(`kura warm: no gateway route of the configuration serves ${url.pathname}`);
    return null;
  }
  const extra: string[] = [];
  for (const h of opts.header) {
    const i = h.indexOf(':');
    if (i <= 0) {
      io.err(`kura warm: --header ${h} is not "Name: value"`);
      return null;
    }
    extra.push(h.slice(0, i).trim(), h.slice(i + 1).trim());
  }
  const origin = originTarget(route.origin, route.bucket);
  const listRoute = { origin: origin.route.origin, via: 'override' as const, tlsVerify: true };
  const sender = new SigningSender(direct, credentialProvider(route.credentials), origin.region);
  const relative = decodeURIComponent(url.pathname.slice(route.prefix.length));
  return {
    lister: { sender, route: listRoute, host: origin.host },
    listPath: origin.base === '/' ? '/' : origin.base.slice(0, -1),
    prefix: route.keyPrefix + relative,
    read: (key) => ({
      key,
      send: async () => {
        const path = `${route.prefix}${encodeKeyPath(key.slice(route.keyPrefix.length))}`;
        const headers: Record<string, string> = {};
        for (let i = 0; i + 1 < extra.length; i += 2) headers[extra[i] as string] = extra[i + 1] as string;
        const res = await request(`${url.origin}${path}`, { headers });
        let bytes = 0;
        for await (const chunk of res.body) bytes += (chunk as Buffer).length;
        return { status: res.statusCode, bytes };
      },
    }),
  };
}

function progressLine(done: number, total: number, bytes: number, ms: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const rate = ms > 0 ? (bytes / ms) * 1000 : 0;
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${formatBytes(bytes)} ${formatBytes(rate)}/s`;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}
