// (d) DuckDB over S3: of the builds npm offers, only @duckdb/duckdb-wasm 1.28.0 (DuckDB 0.9.1) carries
// Parquet and S3 in its .wasm; newer ones and the native packages download httpfs at run time, which
// these machines cannot. Its blocking build runs in this process and reads with synchronous
// XMLHttpRequests, served by bench/sync-http.ts. It signs its requests (SigV4) itself and cannot list, so
// it is given the lake's keys. It opens every file of the list (a HEAD each), then reads only the row
// groups of the matching partitions that the statistics let through.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { BUCKET } from './data.js';
import { type AnalyticsCase, COLUMNS, CREDENTIALS } from './engines.js';
import type { LakeSpec } from './lake.js';
import { SyncHttp } from './sync-http.js';

const PACKAGE = '@duckdb/duckdb-wasm';
const WASM_URL = 'http://duckdb-wasm.invalid/duckdb-eh.wasm';

interface Connection {
  query(sql: string): { numRows: number };
  close(): void;
}
interface Bindings {
  instantiate(): Promise<unknown>;
  open(config: object): void;
  connect(): Connection;
}
interface DuckDBModule {
  createDuckDB(bundles: object, logger: object, runtime: object): Promise<Bindings>;
  VoidLogger: new () => object;
  BROWSER_RUNTIME: {
    _files: Map<unknown, unknown>;
    _fileInfoCache: Map<unknown, unknown>;
    _globalFileInfo: unknown;
  };
}

let loaded: Promise<{ duckdb: DuckDBModule; wasm: Buffer }> | undefined;

/** The blocking build and its module's bytes, loaded once. */
async function loadModule(): Promise<{ duckdb: DuckDBModule; wasm: Buffer }> {
  const require = createRequire(import.meta.url);
  const wasm = await readFile(require.resolve(`${PACKAGE}/dist/duckdb-eh.wasm`));
  const duckdb = require(`${PACKAGE}/dist/duckdb-browser-blocking.cjs`) as DuckDBModule;
  (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = SyncHttp.xhrClass(new SyncHttp());
  return { duckdb, wasm };
}

/**
 * A fresh database, as a new session opens one: an instance keeps the pages of remote files it read,
 * so a second query on it would not ask the origin at all. The runtime, shared by every instance, keeps
 * files' sizes and the S3 settings: left in place, a query would send some of its requests to the
 * endpoint of the one before.
 */
async function freshDuckDB(): Promise<Bindings> {
  loaded ??= loadModule();
  const { duckdb, wasm } = await loaded;
  duckdb.BROWSER_RUNTIME._files.clear();
  duckdb.BROWSER_RUNTIME._fileInfoCache.clear();
  duckdb.BROWSER_RUNTIME._globalFileInfo = null;
  const bundles = {
    mvp: { mainModule: WASM_URL, mainWorker: '' },
    eh: { mainModule: WASM_URL, mainWorker: '' },
  };
  const db = await duckdb.createDuckDB(bundles, new duckdb.VoidLogger(), duckdb.BROWSER_RUNTIME);
  // The build fetches its module by URL: while it instantiates, that one URL is answered from the file.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    (input instanceof Request ? input.url : String(input)) === WASM_URL
      ? new Response(wasm, { headers: { 'content-type': 'application/wasm' } })
      : realFetch(input, init)) as typeof fetch;
  try {
    await db.instantiate();
  } finally {
    globalThis.fetch = realFetch;
  }
  db.open({});
  return db;
}

/** (d) The query of (a), in SQL, over the lake's files: the case, or why it cannot run here. */
export async function duckdbCase(spec: LakeSpec, keys: string[]): Promise<AnalyticsCase | string> {
  let db: Bindings;
  try {
    db = await freshDuckDB();
  } catch (err) {
    return `d: DuckDB did not run here (${PACKAGE}@1.28.0 with a synchronous XMLHttpRequest): ${String(err).split('\n')[0]}`;
  }
  const fromDay = Math.max(1, spec.days - 6);
  const days = Array.from({ length: spec.days - fromDay + 1 }, (_, i) => `'${fromDay + i}'`);
  const files = keys.map((k) => `'s3://${BUCKET}/${k}'`).join(', ');
  // Hive values are strings in DuckDB 0.9: compared as strings, so that pruning by path applies.
  const sql =
    `SELECT ${COLUMNS.join(', ')} FROM read_parquet([${files}], hive_partitioning = true) ` +
    `WHERE region = 'eu' AND day IN (${days.join(', ')}) AND minute >= 360 AND minute < 720`;
  return {
    name: 'd: duckdb lake',
    reads: `read_parquet of ${keys.length} files, the query of (a)`,
    async setUp() {
      db = await freshDuckDB();
    },
    async run(endpoint) {
      const conn = db.connect();
      try {
        for (const set of [
          `SET s3_endpoint='${endpoint}'`,
          "SET s3_region='us-east-1'",
          `SET s3_access_key_id='${CREDENTIALS.accessKeyId}'`,
          `SET s3_secret_access_key='${CREDENTIALS.secretAccessKey}'`,
        ])
          conn.query(set);
        return conn.query(sql).numRows;
      } finally {
        conn.close();
      }
    },
  };
}
