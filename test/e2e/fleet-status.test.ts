// The interface the fleet machinery plugs into: a fleet status shows in the metrics and on the dashboard
// data, and shutdown steps run once the last request is done, in order, even when one of them fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetStatus } from '../../src/telemetry/fleet.js';
import { freePort, startTestKura } from '../support/kura.js';
import { startMemoryOrigin } from '../support/memory-origin.js';
import { sample, scrape } from '../support/prometheus.js';

test('a fleet status provider feeds the leader gauge, the cache size and the dashboard', async () => {
  const origin = await startMemoryOrigin();
  const fleet: FleetStatus = {
    isLeader: () => true,
    instances: () => [
      { id: 'kura-a', lastSeen: '2026-11-22T02:00:00.000Z', leader: true },
      { id: 'kura-b', lastSeen: '2026-11-22T02:00:01.000Z', leader: false },
    ],
    volumeBytes: () => 123_456_789,
    lastEviction: () => ({ at: '2026-11-22T01:59:00.000Z', objects: 3, bytes: 4096 }),
  };
  const kura = await startTestKura({
    origin: origin.url,
    settings: { 'admin.port': await freePort() },
    start: { fleet },
  });
  const steps: string[] = [];
  kura.shutdownHooks.add('flush the journal', async () => {
    steps.push('journal');
    throw new Error('disk gone');
  });
  kura.shutdownHooks.add('release the leader lock', async () => {
    steps.push('leader');
  });
  try {
    const admin = `http://127.0.0.1:${kura.adminPort}`;
    const m = await scrape(admin);
    assert.equal(sample(m, 'kura_leader'), 1);
    assert.equal(sample(m, 'kura_cache_size'), 123_456_789);
    const data = (await (await fetch(`${admin}/dashboard/data`)).json()) as {
      cache: { bytes: number };
      fleet: {
        known: boolean;
        leader: boolean;
        instances: { id: string }[];
        lastEviction: { objects: number };
      };
    };
    assert.equal(data.cache.bytes, 123_456_789);
    assert.equal(data.fleet.known, true);
    assert.equal(data.fleet.leader, true);
    assert.deepEqual(
      data.fleet.instances.map((i) => i.id),
      ['kura-a', 'kura-b'],
    );
    assert.equal(data.fleet.lastEviction.objects, 3);
    assert.deepEqual(steps, [], 'nothing runs before the stop');
  } finally {
    await kura.close();
    await origin.close();
  }
  assert.deepEqual(steps, ['journal', 'leader'], 'a failed step does not keep the next from running');
});
