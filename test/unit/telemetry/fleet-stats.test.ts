import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Counts, EMPTY_COUNTS, pointOf } from '../../../src/telemetry/dashboard-counts.js';
import {
  type FleetSample,
  fleetCounts,
  fleetDelta,
  type Member,
} from '../../../src/telemetry/fleet-stats.js';

const counts = (requests: number, errors: Record<string, number> = {}): Counts => ({
  ...EMPTY_COUNTS,
  requests,
  cached: requests / 2,
  lookedUp: requests,
  bytesFromCache: requests * 100,
  bytesFromS3: requests * 10,
  errors,
});
const member = (id: string, startedAt: number, c: Counts): Member => ({
  id,
  at: 0,
  host: 'h',
  pid: 1,
  workers: 1,
  version: 'v',
  startedAt,
  leader: null,
  activeRequests: 0,
  counts: c,
});
const sample = (at: number, members: Member[]): FleetSample => ({
  at,
  members: new Map(members.map((m) => [m.id, m])),
});

describe('fleetDelta', () => {
  // [what happened between the samples at 1000 and 2000, the requests the fleet made in between]
  const cases: [string, Member[], Member[], number][] = [
    [
      'both members went on',
      [member('a', 0, counts(10)), member('b', 0, counts(4))],
      [member('a', 0, counts(16)), member('b', 0, counts(6))],
      8,
    ],
    [
      'a member started in between counts from its start',
      [member('a', 0, counts(10))],
      [member('a', 0, counts(12)), member('b', 1500, counts(4))],
      6,
    ],
    [
      'a member seen first but older than the interval counts nothing yet',
      [member('a', 0, counts(10))],
      [member('a', 0, counts(12)), member('b', 500, counts(40))],
      2,
    ],
    [
      'a member gone counts nothing more, and takes nothing away',
      [member('a', 0, counts(10)), member('b', 0, counts(40))],
      [member('a', 0, counts(12))],
      2,
    ],
    [
      'a member whose numbers fell (a worker started again) adds nothing',
      [member('a', 0, counts(10))],
      [member('a', 0, counts(4))],
      0,
    ],
  ];
  for (const [name, before, now, requests] of cases) {
    it(name, () => {
      assert.equal(fleetDelta(sample(1000, before), sample(2000, now)).requests, requests);
    });
  }

  it('adds errors by kind and makes rates of them', () => {
    const a = sample(1000, [member('a', 0, counts(2, { 'responses.5xx': 1, 'origin.http_5xx': 1 }))]);
    const b = sample(7000, [
      member('a', 0, counts(4, { 'responses.5xx': 2, 'origin.http_5xx': 3, 'cache.corrupt-chunk': 1 })),
    ]);
    const d = fleetDelta(a, b);
    assert.deepEqual(d.errors, { 'responses.5xx': 1, 'origin.http_5xx': 2, 'cache.corrupt-chunk': 1 });
    const p = pointOf(d, b.at, b.at - a.at);
    assert.deepEqual(p.errorsPerMinute, { responses: 10, origin: 20, cache: 10 });
    assert.equal(p.requestsPerSecond, 2 / 6);
    assert.equal(p.hitRatio, 0.5);
  });
});

it('fleetCounts adds every member up', () => {
  const total = fleetCounts(
    sample(0, [member('a', 0, counts(10, { 'responses.4xx': 1 })), member('b', 0, counts(6))]),
  );
  assert.deepEqual(
    [total.requests, total.bytesFromCache, total.bytesFromS3, total.errors],
    [16, 1600, 160, { 'responses.4xx': 1 }],
  );
});
