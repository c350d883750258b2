// The admin listener: what operators and their tools ask an instance about itself. Loopback by default.
//   /health/live    the process answers
//   /health/ready   the volume is writable and of the right format, and an upstream name resolves
//   /metrics        Prometheus text from the OpenTelemetry meter
//   /stats          the cache's counters as JSON
//   /dashboard      a page for people, which reads /dashboard/data

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { DashboardData } from '../telemetry/dashboard-data.js';
import type { ReadinessReport } from '../telemetry/health.js';
import type { TunnelStats } from './tunnel.js';

/** Counters of the raw TCP relays; null where that listener is off. */
export interface RelayStats {
  passthrough: TunnelStats | null;
  connect: TunnelStats | null;
}

/** What the endpoints show: of one process, or of a worker group added up by its primary. */
export interface AdminSources {
  ready(): Promise<ReadinessReport>;
  metricsText(): Promise<string>;
  stats(): Promise<Record<string, unknown>>;
  dashboard: DashboardData | null;
}

const ASSETS = new URL('../../../assets/dashboard/', import.meta.url);

/** The dashboard's files, read once: they are part of the release, not of the configuration. */
const STATIC: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ['/dashboard', 'index.html', 'text/html; charset=utf-8'],
    ['/dashboard/app.js', 'app.js', 'text/javascript; charset=utf-8'],
    ['/dashboard/chart.js', 'chart.js', 'text/javascript; charset=utf-8'],
    ['/dashboard/style.css', 'style.css', 'text/css; charset=utf-8'],
  ].map(([path, file, type]) => [
    path,
    { type: type as string, body: readFileSync(new URL(file as string, ASSETS)) },
  ]),
);

export function createAdminListener(deps: AdminSources): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    route(deps, path, res).catch((err: Error) => send(res, 500, { error: err.message }));
  });
}

async function route(deps: AdminSources, path: string, res: http.ServerResponse): Promise<void> {
  if (path === '/health/live') return send(res, 200, { status: 'ok' });
  if (path === '/health/ready') {
    const report = await deps.ready();
    return send(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report });
  }
  if (path === '/metrics') {
    return sendText(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await deps.metricsText());
  }
  if (path === '/stats') return send(res, 200, await deps.stats());
  if (deps.dashboard) {
    if (path === '/' || path === '/dashboard/') {
      res.writeHead(302, { location: '/dashboard' });
      return void res.end();
    }
    if (path === '/dashboard/data') return send(res, 200, await deps.dashboard.json());
    const file = STATIC[path];
    if (file) return sendText(res, 200, file.type, file.body);
  }
  send(res, 404, { error: `no such endpoint: ${path}` });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  sendText(res, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
}

function sendText(res: http.ServerResponse, status: number, type: string, text: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
