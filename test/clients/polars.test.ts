// nodejs-polars (0.26, Rust's object_store underneath) scanning a Parquet file on S3, through Kura and
// direct against RGW: a HEAD, the footer, then one ranged GET per row group it needs, several in flight.
// Polars only reads here (the file is put straight into RGW); a filtered scan and a whole read give the
// same rows both ways and the rows written, and a second scan through Kura is answered from the cache.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pl from 'nodejs-polars';
import {
  assertHit,
  assertSameOutcome,
  type ClientMatrix,
  measure,
  type Outcome,
  type Side,
  startClientMatrix,
} from '../support/client-matrix.js';

const ROWS = 100_000;
const KEY = 'table.parquet';

let m: ClientMatrix;
let table: pl.DataFrame;

function cloudOptions(side: Side): Record<string, string> {
  return {
    aws_endpoint_url: side.endpoint,
    aws_access_key_id: 'S3RVER',
    aws_secret_access_key: 'S3RVER',
    aws_region: 'us-east-1',
    aws_allow_http: 'true',
    aws_virtual_hosted_style_request: 'false',
  };
}

/** The scan's rows as records, or the failure (polars' message names the endpoint, so only "error"). */
async function scan(side: Side, key: string, filtered: boolean): Promise<Outcome & { rows?: unknown[] }> {
  try {
    let frame = pl.scanParquet(`s3://${m.bucket}/${side.prefix}${key}`, { cloudOptions: cloudOptions(side) });
    // A literal cast to the column's type, or polars cannot prune row groups by their statistics.
    if (filtered) frame = frame.filter(pl.col('id').gtEq(pl.lit(ROWS - 25_000).cast(pl.Int64)));
    const rows = (await frame.collect()).toRecords();
    return { code: 0, rows };
  } catch (err) {
    return { code: 'error', detail: (err as Error).message };
  }
}

before(async () => {
  m = await startClientMatrix('polars');
  table = pl.DataFrame({
    id: Array.from({ length: ROWS }, (_, i) => i),
    value: Array.from({ length: ROWS }, (_, i) => (i * 7_919) % 1_000),
    name: Array.from({ length: ROWS }, (_, i) => `row ${i}`),
  });
  // Ten row groups, so that a filtered scan reads only some of them.
  const file = join(m.work, KEY);
  await table
    .lazy()
    .sinkParquet(file, { rowGroupSize: ROWS / 10 })
    .collect();
  const bytes = await readFile(file);
  for (const side of Object.values(m.sides)) await m.origin.put(m.bucket, `${side.prefix}${KEY}`, bytes);
});
after(async () => {
  await m?.close();
});

test('polars: a filtered scan gives the same rows through Kura and direct; the second scan is answered by the cache', async () => {
  const expected = table.filter(pl.col('id').gtEq(ROWS - 25_000)).toRecords();
  const [kura, firstCost] = await measure(m, `kura/${KEY}`, () => scan(m.sides.kura, KEY, true));
  const direct = await scan(m.sides.direct, KEY, true);
  assertSameOutcome('filtered scan', kura, direct);
  assert.equal(kura.code, 0, kura.detail);
  assert.deepEqual(direct.rows, expected, 'direct: the rows written');
  assert.deepEqual(kura.rows, expected, 'through Kura: the rows written');
  assert.ok(
    firstCost.access.filter((r) => r.operation === 'GetObject').length > 2,
    'the scan read the footer and row groups in ranged GETs',
  );
  const [again, cost] = await measure(m, `kura/${KEY}`, () => scan(m.sides.kura, KEY, true));
  assert.deepEqual(again.rows, expected, 'the second scan through Kura: the rows written');
  assertHit('second filtered scan', `kura/${KEY}`, cost);
});

test('polars: a whole read gives every row through Kura and direct', async () => {
  const [kura, direct] = await Promise.all([
    scan(m.sides.kura, KEY, false),
    scan(m.sides.direct, KEY, false),
  ]);
  assertSameOutcome('whole read', kura, direct);
  assert.equal(kura.rows?.length, ROWS);
  assert.deepEqual(kura.rows, table.toRecords(), 'through Kura: the rows written');
  assert.deepEqual(direct.rows, kura.rows);
});

test('polars: a missing file fails through Kura as it does direct', async () => {
  const [kura, direct] = await Promise.all([
    scan(m.sides.kura, 'missing.parquet', true),
    scan(m.sides.direct, 'missing.parquet', true),
  ]);
  assertSameOutcome('missing file', kura, direct);
  assert.equal(kura.code, 'error');
});
