import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  readInstanceStats,
  removeInstanceStats,
  STATS_DIR,
  STATS_FORGET_MS,
  statsPathOf,
  writeInstanceStats,
} from '../../../src/store/instance-stats.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const volume = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kura-stats-'));
  roots.push(dir);
  return dir;
};
const NOW = 1_800_000_000_000;

describe('instance stats files', () => {
  it('reads back what each instance wrote, sorted by id', async () => {
    const dir = volume();
    await writeInstanceStats(dir, { id: 'b', at: NOW, everyMs: 5_000, stats: { n: 2 } });
    await writeInstanceStats(dir, { id: 'a', at: NOW - 1_000, everyMs: 5_000, stats: { n: 1 } });
    const files = await readInstanceStats(dir, NOW);
    assert.deepEqual(
      files.map((f) => [f.id, f.stats]),
      [
        ['a', { n: 1 }],
        ['b', { n: 2 }],
      ],
    );
    assert.deepEqual(readdirSync(join(dir, STATS_DIR)).sort(), ['a.json', 'b.json'], 'no temp file left');
  });

  // [age of the file, its writer's interval, counted, kept on the volume]
  const cases: [number, number, boolean, boolean][] = [
    [14_000, 1_000, true, true], // three intervals are less than 15 s: 15 s count
    [16_000, 1_000, false, true],
    [29_000, 10_000, true, true], // three intervals of 10 s
    [31_000, 10_000, false, true],
    [STATS_FORGET_MS + 1, 5_000, false, false],
  ];
  for (const [age, everyMs, counted, kept] of cases) {
    it(`a file ${age} ms old, refreshed every ${everyMs} ms: ${counted ? 'counted' : 'left out'}${kept ? '' : ' and removed'}`, async () => {
      const dir = volume();
      await writeInstanceStats(dir, { id: 'x', at: NOW - age, everyMs, stats: {} });
      assert.equal((await readInstanceStats(dir, NOW)).length, counted ? 1 : 0);
      assert.equal(readdirSync(join(dir, STATS_DIR)).length, kept ? 1 : 0);
    });
  }

  it('skips damaged files and removes them, and leftover temp files, once old', async () => {
    const dir = volume();
    await writeInstanceStats(dir, { id: 'ok', at: Date.now(), everyMs: 5_000, stats: {} });
    const damaged = join(dir, STATS_DIR, 'torn.json');
    const temp = join(dir, STATS_DIR, 'ok.json.123.1.tmp');
    const noStats = join(dir, STATS_DIR, 'empty.json');
    writeFileSync(damaged, '{"id":"torn","at":');
    writeFileSync(temp, '{}');
    writeFileSync(noStats, JSON.stringify({ id: 'empty', at: NOW, everyMs: 5_000 }));
    assert.deepEqual(
      (await readInstanceStats(dir, Date.now())).map((f) => f.id),
      ['ok'],
    );
    assert.equal(readdirSync(join(dir, STATS_DIR)).length, 4, 'young files stay, whatever they hold');
    const old = new Date(Date.now() - STATS_FORGET_MS - 1_000);
    for (const p of [damaged, temp, noStats]) utimesSync(p, old, old);
    await readInstanceStats(dir, Date.now());
    assert.deepEqual(readdirSync(join(dir, STATS_DIR)), ['ok.json']);
  });

  it('an instance that stops removes its own file; reading a volume without stats/ finds none', async () => {
    const dir = volume();
    assert.deepEqual(await readInstanceStats(dir, NOW), []);
    await writeInstanceStats(dir, { id: 'gone', at: NOW, everyMs: 5_000, stats: {} });
    await removeInstanceStats(dir, 'gone');
    assert.deepEqual(readdirSync(join(dir, STATS_DIR)), []);
    assert.equal(statsPathOf(dir, 'gone'), join(dir, STATS_DIR, 'gone.json'));
  });
});
