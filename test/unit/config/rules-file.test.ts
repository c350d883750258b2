// The rules file while Kura runs: start-up refusals, polling and SIGHUP reloads, the last good rules
// kept through bad edits.

import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RulesFile } from '../../../src/config/rules.js';
import type { Fields, Logger } from '../../../src/telemetry/log.js';
import { DEFAULT_RULE, DEFAULTS, rulesText } from '../../support/rules.js';

interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  msg: string;
  fields: Fields | undefined;
}

function capturingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (msg: string, fields?: Fields): void => {
      entries.push({ level, msg, fields });
    };
  return { log: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, entries };
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('RulesFile', () => {
  const INTERVAL = 50;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kura-rules-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without a path has only the defaults', async () => {
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(null, DEFAULTS, log);
    assert.equal(file.rules.count, 0);
    assert.deepEqual(file.rules.ruleFor('b', 'k'), DEFAULT_RULE);
    file.close();
    assert.deepEqual(entries, []);
  });

  it('refuses to start from a missing file', async () => {
    const { log } = capturingLogger();
    await assert.rejects(RulesFile.open(join(dir, 'absent.yaml'), DEFAULTS, log), (err: Error) => {
      assert.match(err.message, /cannot read the cache rules file .*absent\.yaml: ENOENT/);
      return true;
    });
  });

  it('refuses to start from a bad file, listing every problem', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, rulesText({ match: 'a/**', get_ttl: 'soon' }, { read: true }));
    const { log } = capturingLogger();
    await assert.rejects(RulesFile.open(path, DEFAULTS, log), (err: Error) => {
      assert.ok(err.message.includes(`${path}: rules[0].get_ttl: "soon" is not a duration`), err.message);
      assert.ok(err.message.includes(`${path}: rules[1].match: missing`), err.message);
      return true;
    });
  });

  it('reload() (SIGHUP) applies an edit at once, without waiting for the poll', async () => {
    const path = join(dir, 'hup.yaml');
    await writeFile(path, rulesText({ match: 'b/**', get_ttl: '1h' }));
    const { log, entries } = capturingLogger();
    // An interval far beyond the test's length: only reload() can apply the edit.
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: 3_600_000 });
    try {
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: '3h' }));
      await file.reload();
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 3 * 3_600_000);
      await file.reload();
      assert.deepEqual(
        entries.map((e) => e.msg),
        ['cache rules reloaded', 'cache rules unchanged'],
      );
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: 'soon' }));
      await file.reload();
      assert.equal(
        file.rules.ruleFor('b', 'k').getTtl,
        3 * 3_600_000,
        'a bad edit keeps the last good rules',
      );
      assert.equal(entries.at(-1)?.level, 'error');
    } finally {
      file.close();
    }
  });

  it('reloads good edits, keeps the last good rules through bad ones, and stops on close', async () => {
    const path = join(dir, 'rules.yaml');
    await writeFile(path, rulesText({ match: 'b/**', get_ttl: '1h' }));
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: INTERVAL });
    const errors = () => entries.filter((e) => e.level === 'error');
    const reloads = () => entries.filter((e) => e.level === 'info' && e.msg === 'cache rules reloaded');
    try {
      assert.equal(file.rules.count, 1);
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 3_600_000);

      await writeFile(path, rulesText({ match: 'b/hot/**', ram: true }, { match: 'b/**', get_ttl: '2h' }));
      await until(() => file.rules.count === 2, 'the good edit');
      assert.equal(file.rules.ruleFor('b', 'k').getTtl, 7_200_000);
      assert.deepEqual(reloads().at(-1)?.fields, { path, count: 2 });

      const good = file.rules;
      await writeFile(path, rulesText({ match: 'b/**', get_ttl: 'soon' }));
      await until(() => errors().length === 1, 'the error for the bad edit');
      assert.equal(file.rules, good);
      assert.deepEqual(errors()[0]?.fields, {
        path,
        problems: [`${path}: rules[0].get_ttl: "soon" is not a duration (like 30s, 5m, 1h, 1d)`],
      });

      await sleep(INTERVAL * 6);
      assert.equal(errors().length, 1, 'a bad file is reported once, not on every poll');
      assert.equal(reloads().length, 1);

      await unlink(path);
      await until(() => errors().length === 2, 'the error for the deleted file');
      assert.equal(file.rules, good);
      assert.match(JSON.stringify(errors()[1]?.fields), /ENOENT/);

      await writeFile(path, rulesText({ match: 'c/**', head_ttl: '5s' }));
      await until(() => file.rules.ruleFor('c', 'k').headTtl === 5_000, 'the file written again');
      assert.equal(file.rules.count, 1);
      assert.equal(reloads().length, 2);

      file.close();
      const last = file.rules;
      await writeFile(path, rulesText({ match: 'd/**' }, { match: 'e/**' }, { match: 'f/**' }));
      await sleep(INTERVAL * 6);
      assert.equal(file.rules, last);
      assert.equal(reloads().length, 2);
    } finally {
      file.close();
    }
  });

  it('does not log when the file is rewritten unchanged', async () => {
    const path = join(dir, 'same.yaml');
    const text = rulesText({ match: 'b/**' });
    await writeFile(path, text);
    const { log, entries } = capturingLogger();
    const file = await RulesFile.open(path, DEFAULTS, log, { intervalMs: INTERVAL });
    try {
      const rules = file.rules;
      await writeFile(path, text);
      await sleep(INTERVAL * 6);
      assert.equal(file.rules, rules);
      assert.deepEqual(entries, []);
    } finally {
      file.close();
    }
  });
});
