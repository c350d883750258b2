// (d) DuckDB as an analytics case, when a build that reaches S3 runs here.

import type { AnalyticsCase } from './engines.js';

/** The case, or why it cannot run on this machine. */
export async function duckdbCase(_keys: string[]): Promise<AnalyticsCase | string> {
  return 'd: DuckDB not tried';
}
