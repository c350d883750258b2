// The passthrough's deadline for the ClientHello, with a short one: a client that opens a connection and
// trickles part of a hello (or nothing) is closed and counted as `timeout`.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { buildConfig } from '../../../src/config/load.js';
import { createPassthrough } from '../../../src/server/passthrough.js';
import { createLogger } from '../../../src/telemetry/log.js';
import { S3Resolver } from '../../../src/upstream/resolver.js';

test('a ClientHello that does not complete in time is closed and counted as timeout', async () => {
  const built = buildConfig({}, []);
  assert.ok(built.ok);
  const passthrough = createPassthrough({
    config: built.config,
    resolver: new S3Resolver([]),
    log: createLogger('error'),
    helloTimeoutMs: 200,
  });
  await new Promise<void>((r) => passthrough.server.listen(0, '127.0.0.1', r));
  try {
    const port = (passthrough.server.address() as net.AddressInfo).port;
    const started = Date.now();
    const partial = net.connect({ host: '127.0.0.1', port });
    partial.on('error', () => {});
    partial.write(Buffer.from([22, 3, 1, 0, 200, 1]));
    const silent = net.connect({ host: '127.0.0.1', port });
    silent.on('error', () => {});
    await Promise.all([once(partial, 'close'), once(silent, 'close')]);
    assert.ok(Date.now() - started >= 150, 'not before the deadline');
    assert.equal(passthrough.stats.refused.timeout, 2);
    assert.equal(passthrough.stats.relayed, 0);
  } finally {
    await passthrough.close(100);
  }
});
