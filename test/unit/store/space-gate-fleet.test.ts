// The space gates of a whole fleet, simulated around the real VolumeSpaceGate: instances that write as
// fast as their gates let them, a leader that consolidates closed journal segments and evicts, and
// refreshes, heartbeats and leader rounds that run late at random (a busy event loop, a long round).
// Whatever the timing, the bytes on the volume must never pass max_size, and the gates must go on
// admitting writes once the leader has made room.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { gateMembers } from '../../../src/store/fleet.js';
import type { Heartbeat } from '../../../src/store/journal.js';
import { VolumeSpaceGate } from '../../../src/store/space-gate.js';
import type { VolumeSummary } from '../../../src/store/state-files.js';
import { prng } from '../../support/cache-client.js';
import { leaderSummary } from '../../support/leader-summary.js';

const MAX = 8 * 2 ** 20;
const CHUNK = 64 * 1024;
/** A chunk file: its payload and header. */
const FILE = CHUNK + 56;
/** `journal_flush`: how often heartbeats are written and gates refreshed, when nothing runs late. */
const FLUSH_MS = 200;
const RUN_MS = 15_000;

interface FileOnVolume {
  at: number;
  consolidated: boolean;
  gone: boolean;
}

interface Member {
  id: string;
  gate: VolumeSpaceGate;
  /** Events not flushed yet, the open segment, and closed segments the leader has not read. */
  buffer: FileOnVolume[];
  open: FileOnVolume[];
  openedAt: number;
  closed: FileOnVolume[][];
  beat: Heartbeat | null;
  /** The newest event time appended to its journal. */
  journaled: number;
  nextFlush: number;
  nextRefresh: number;
  writes: number[];
  rate: number;
  startAt: number;
  stopAt: number;
}

interface Outcome {
  peak: number;
  /** Chunks admitted over the run, and over its last 5 s. */
  admitted: number;
  lateAdmitted: number;
}

interface Scenario {
  instances: number;
  /** A newcomer joins at a random time. */
  joiner?: boolean;
  /** One of the first members stops at a random time. */
  stopper?: boolean;
  /** The odds that a refresh or a flush runs late, by up to 1.5 s. */
  stall: number;
}

/** The fleet's timing as fleet.ts reads heartbeats. */
const FLEET = { journalFlushMs: FLUSH_MS, leaderStaleMs: 3_000 };

function simulate(seed: number, { instances, joiner = false, stopper = false, stall }: Scenario): Outcome {
  const random = prng(seed);
  const t0 = 1_000_000;
  let now = t0;
  mock.timers.setTime(now);
  const members: Member[] = [];
  const count = instances + (joiner ? 1 : 0);
  for (let i = 0; i < count; i++) {
    members.push({
      id: `i${i}`,
      gate: new VolumeSpaceGate(`i${i}`, MAX),
      buffer: [],
      open: [],
      openedAt: now,
      closed: [],
      beat: null,
      journaled: 0,
      nextFlush: now + Math.floor(random() * FLUSH_MS),
      nextRefresh: now + Math.floor(random() * FLUSH_MS),
      writes: [],
      rate: 0.3 + random() * 0.6,
      startAt: i < instances ? now : now + 500 + Math.floor(random() * 4_000),
      stopAt: stopper && i === 1 ? now + 1_000 + Math.floor(random() * 8_000) : Number.POSITIVE_INFINITY,
    });
  }
  const files: FileOnVolume[] = [];
  let onVolume = 0;
  let peak = 0;
  let admitted = 0;
  let lateAdmitted = 0;
  let summary: VolumeSummary | null = null;
  let total = 0;
  const consolidated: Record<string, number> = {};
  const beat = (m: Member, stopped = false): Heartbeat => ({
    instance: m.id,
    host: 'elsewhere',
    pid: 1,
    startedAt: m.startAt,
    lastSeen: now,
    stopped,
    summarySeen: m.gate.summarySeen,
    counting: [...m.gate.counting],
    journaled: m.journaled,
  });

  const flush = (m: Member) => {
    for (const f of m.buffer) m.journaled = Math.max(m.journaled, f.at);
    m.open.push(...m.buffer);
    m.buffer = [];
  };

  const refresh = (m: Member) => {
    const beats = members.flatMap((o) => (o.beat === null ? [] : [o.beat]));
    const told = m.gate.counting.join();
    m.gate.update(summary, gateMembers(beats, m.id, summary, FLEET, now), null);
    // A changed count is told at once (fleet.ts).
    if (m.gate.counting.join() !== told) m.beat = beat(m);
  };

  const leaderRound = () => {
    for (const m of members) {
      for (const f of m.closed.flat()) {
        if (!f.gone) total += FILE;
        f.consolidated = true;
        consolidated[m.id] = Math.max(consolidated[m.id] ?? 0, f.at);
      }
      m.closed = [];
    }
    // Eviction: above 85 % of max_size, the oldest consolidated files go until 70 % is left.
    if (total > 0.85 * MAX) {
      for (const f of files) {
        if (total <= 0.7 * MAX) break;
        if (!f.consolidated || f.gone) continue;
        f.gone = true;
        onVolume -= FILE;
        total -= FILE;
      }
    }
    summary = leaderSummary(total, { ...consolidated });
  };

  const late = (ms: number) => (random() < stall ? Math.floor(random() * ms) : Math.floor(random() * 50));

  // Every member writes its heartbeat, then reads the fleet's, before it serves (fleet.ts).
  for (const m of members) if (m.startAt === t0) m.beat = beat(m);
  for (const m of members) if (m.startAt === t0) refresh(m);
  for (; now < t0 + RUN_MS; now++) {
    mock.timers.setTime(now);
    for (const m of members) {
      if (now < m.startAt || m.beat?.stopped) continue;
      if (now >= m.stopAt) {
        // A clean stop (fleet.ts close): writes in flight end, the journal is flushed and its segment
        // closed, and the heartbeat says it stopped.
        for (const _ of m.writes) {
          const f = { at: now, consolidated: false, gone: false };
          files.push(f);
          onVolume += FILE;
          m.buffer.push(f);
        }
        m.writes = [];
        flush(m);
        m.closed.push(m.open);
        m.open = [];
        m.beat = beat(m, true);
        continue;
      }
      if (m.beat === null) {
        m.beat = beat(m);
        refresh(m);
      }
      // Writes that end now: the chunk is on the volume, journaled and told to the gate.
      m.writes = m.writes.filter((end) => {
        if (end > now) return true;
        const f = { at: now, consolidated: false, gone: false };
        files.push(f);
        onVolume += FILE;
        m.buffer.push(f);
        m.gate.wrote(FILE);
        m.gate.settle(CHUNK);
        return false;
      });
      if (random() < m.rate && m.gate.mayWrite(CHUNK)) {
        m.writes.push(now + 1 + Math.floor(random() * 20));
        admitted += 1;
        if (now - t0 > RUN_MS - 5_000) lateAdmitted += 1;
      }
      if (now >= m.nextFlush) {
        flush(m);
        if (now - m.openedAt >= FLUSH_MS && m.open.length > 0) {
          m.closed.push(m.open);
          m.open = [];
          m.openedAt = now;
        }
        m.beat = beat(m);
        m.nextFlush = now + FLUSH_MS + late(1_500);
      }
      if (now >= m.nextRefresh) {
        if (m === members[0]) leaderRound();
        refresh(m);
        m.nextRefresh = now + FLUSH_MS + late(1_500);
      }
    }
    peak = Math.max(peak, onVolume);
  }
  return { peak, admitted, lateAdmitted };
}

function check(scenario: Scenario, runs: number): void {
  for (let seed = 1; seed <= runs; seed++) {
    const run = simulate(seed, scenario);
    assert.ok(run.peak <= MAX, `seed ${seed}: the volume held ${run.peak} bytes; max_size is ${MAX}`);
    // Stuck gates would keep the volume safe too: they must go on admitting once eviction made room.
    assert.ok(run.lateAdmitted > 0, `seed ${seed}: no chunk admitted in the last 5 s`);
    assert.ok(run.peak > 0.8 * MAX, `seed ${seed}: the volume never filled past ${run.peak} bytes`);
  }
}

describe('space gates of a fleet', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'] }));
  afterEach(() => mock.timers.reset());

  for (const instances of [2, 3, 5]) {
    test(`${instances} instances running late at random never pass max_size together`, () => {
      check({ instances, stall: 0.05 }, 40);
      check({ instances, stall: 0.3 }, 40);
    });
  }

  test('an instance joining a busy fleet does not take a share the others still use', () => {
    check({ instances: 2, joiner: true, stall: 0.05 }, 40);
    check({ instances: 3, joiner: true, stall: 0.3 }, 40);
  });

  test("an instance that stops keeps its share until the leader's total includes its last writes", () => {
    check({ instances: 3, stopper: true, stall: 0.05 }, 100);
    check({ instances: 3, stopper: true, stall: 0.5 }, 340);
  });
});
