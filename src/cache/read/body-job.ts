// What serving a byte range of one version from its chunks works with: the job, and the plan of its cells
// (cached-body.ts makes and streams the plan; cell-runs.ts fetches the cells it lacks).

import type { VersionName } from '../../store/key-names.js';
import type { ObjectRecord, ObjectVersion } from '../../store/types.js';
import type { Cache } from '../cache.js';
import type { Exchange, PassOptions } from '../exchange/exchange.js';

export interface BodyJob {
  ex: Exchange;
  opts: PassOptions;
  cache: Cache;
  record: ObjectRecord;
  version: ObjectVersion;
  /** The version's and its cells' names in the RAM tier and the in-flight tables. */
  versionName: VersionName;
  /** Whether the rule lets this object into the RAM tier. */
  ram: boolean;
  /**
   * Whether Kura may ask S3 for other bytes than the client asked for: the Range is not signed and the
   * request is not a `partNumber` GET. Otherwise a missing byte means forwarding the client's request.
   */
  flexible: boolean;
  /** The client sent no conditionals, so Kura may add If-Match. */
  mayAddConditionals: boolean;
}

/** `leased`: another instance announced it is fetching the cell; its file is waited for. */
export type CellState = 'cached' | 'pending' | 'leased' | 'missing';

/**
 * Bytes of a cell read from RAM or the volume, ready to send. When they are a view of a pooled buffer,
 * the slice holds a reference to it, given back once the socket has the bytes.
 */
export interface Slice {
  bytes: Buffer;
  ram: boolean;
}

export interface Plan {
  /** Inclusive byte positions. */
  start: number;
  end: number;
  /** `read`: the cell's bytes, read ahead of the response head (`planRange` in cached-body.ts). */
  cells: { index: number; state: CellState; read?: Slice }[];
}
