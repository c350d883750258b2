// The admin listener: what operators and their tools ask an instance about itself. Loopback by default.

import http from 'node:http';
import type { Cache } from '../cache/cache.js';
import type { TunnelStats } from './tunnel.js';

/** Counters of the raw TCP relays; null where that listener is off. */
export interface RelayStats {
  passthrough: TunnelStats | null;
  connect: TunnelStats | null;
}

export function createAdminListener(cache: Cache | null, relays?: RelayStats): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/health/live') return send(res, 200, { status: 'ok' });
    if (path === '/stats' && cache !== null) {
      return send(res, 200, {
        cache: cache.stats.toJSON(),
        ram: { bytes: cache.ram.bytes },
        volume: {
          dir: cache.volume.dir,
          chunkSize: cache.volume.chunkSize,
          instance: cache.volume.instanceId,
        },
        rules: cache.rules.rules.count,
        fleet: {
          leader: cache.fleet.isLeader,
          evictions: cache.fleet.evictions,
          journalEvents: cache.fleet.journal.eventsWritten,
          chunksRefusedFull: cache.fleet.space.refused,
        },
        passthrough: relays?.passthrough?.toJSON() ?? null,
        connect: relays?.connect?.toJSON() ?? null,
      });
    }
    send(res, 404, { error: `no such endpoint: ${path}` });
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
