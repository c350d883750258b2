// A start that fails on a busy port undoes what it opened: the ports it did open are free again, so the
// operator can fix the setting and start once more.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildConfig } from '../../src/config/load.js';
import { startKura } from '../../src/server/kura.js';
import type { Logger } from '../../src/telemetry/log.js';

const dir = mkdtempSync(join(tmpdir(), 'kura-start-failure-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {} };

async function listenOn(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  return server;
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test('a busy gateway port stops the start and leaves the HTTP and admin ports free', async () => {
  const busy = await listenOn(0);
  // Two ports that are free now, for the listeners that open before the gateway's.
  const probe = [await listenOn(0), await listenOn(0)];
  const [httpPort, adminPort] = probe.map(portOf) as [number, number];
  for (const p of probe) await closeServer(p);
  const built = buildConfig(
    {
      server: { http_host: '127.0.0.1', http_port: httpPort, https_port: 0 },
      admin: { host: '127.0.0.1', port: adminPort },
      cache: { dir: join(dir, 'volume') },
      gateway: { listen: [`127.0.0.1:${portOf(busy)}`] },
      log: { access: 'off' },
    },
    [],
  );
  assert.ok(built.ok, built.ok ? '' : JSON.stringify(built));
  try {
    await assert.rejects(startKura(built.config, { log: quiet }), /address is already in use/);
    for (const port of [httpPort, adminPort]) {
      const again = await listenOn(port);
      await closeServer(again);
    }
    // With the setting fixed, a second start on the same ports and volume works.
    const fixed = buildConfig(
      {
        server: { http_host: '127.0.0.1', http_port: httpPort, https_port: 0 },
        admin: { host: '127.0.0.1', port: adminPort },
        cache: { dir: join(dir, 'volume') },
        log: { access: 'off' },
      },
      [],
    );
    assert.ok(fixed.ok);
    const kura = await startKura(fixed.config, { log: quiet });
    try {
      assert.equal(kura.http.port, httpPort);
      assert.equal(kura.admin?.port, adminPort);
      const ready = await fetch(`http://127.0.0.1:${adminPort}/health/live`);
      assert.equal(ready.status, 200);
      await ready.arrayBuffer();
    } finally {
      await kura.close(1_000);
    }
  } finally {
    await closeServer(busy);
  }
});
