// docs/operations.md lists every metric Kura registers, with its type, unit and attributes: the table is
// compared with the catalog the instruments are made from.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS } from '../../../src/telemetry/catalog.js';

const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');

function metricRows(): { name: string; kind: string; unit: string; attributes: string[] }[] {
  const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('## Health'));
  return section
    .split('\n')
    .filter((l) => /^\| `[a-z]/.test(l))
    .map((l) => {
      const cells = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      const code = (c: string) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
      return {
        name: code(cells[0] as string)[0] as string,
        kind: cells[1] as string,
        unit: code(cells[2] as string)[0] as string,
        attributes: code(cells[3] as string),
      };
    });
}

test('the metrics table of docs/operations.md equals the registered instruments', () => {
  const documented = metricRows();
  const registered = Object.values(METRICS).map((m) => ({
    name: m.name,
    kind: m.kind,
    unit: m.unit,
    attributes: [...m.attributes],
  }));
  assert.deepEqual(documented.map((d) => d.name).sort(), registered.map((r) => r.name).sort());
  for (const r of registered)
    assert.deepEqual(
      documented.find((d) => d.name === r.name),
      r,
      r.name,
    );
});
