// The messages between a worker group's primary (src/server/worker-group.ts) and its workers
// (src/server/worker.ts), over the IPC channel node:cluster opens with each worker.

import type { AddressInfo } from 'node:net';
import type { HitAuthChange } from '../cache/hit-auth.js';
import type { KuraConfig } from '../config/schema.js';

/** Primary to worker. */
export type ToWorker =
  /** The first message: which worker this is and the configuration to run (its share of the RAM tier). */
  | { kind: 'start'; worker: number; config: KuraConfig }
  /** One of the worker's views (src/server/instance-views.ts), answered with the same id. */
  | { kind: 'ask'; id: number; view: string }
  /** SIGHUP: reopen the access log, read the rules file again. */
  | { kind: 'reload' }
  /** What another worker learnt of who may read a hit (src/cache/hit-auth.ts). */
  | { kind: 'hit-auth'; change: HitAuthChange }
  /** Another worker wrote or removed the object record at this path (src/store/records.ts). */
  | { kind: 'record'; path: string }
  /** Stop accepting, drain for up to graceMs, then exit. */
  | { kind: 'stop'; graceMs: number }
  /** Exit at once, removing this worker's unfinished temp files. */
  | { kind: 'now' };

/** Worker to primary. */
export type FromWorker =
  /** The worker listens for messages now (one sent before would be lost): the primary sends 'start'. */
  | { kind: 'hello' }
  | {
      kind: 'listening';
      http: AddressInfo;
      https: AddressInfo | null;
      tls: AddressInfo | null;
      volume: { dir: string; chunkSize: number; instance: string };
    }
  | { kind: 'failed'; error: string }
  /** What this worker learnt of who may read a hit: the primary tells the other workers. */
  | { kind: 'hit-auth'; change: HitAuthChange }
  /** This worker wrote or removed the object record at this path: the other workers forget theirs. */
  | { kind: 'record'; path: string }
  | { kind: 'answer'; id: number; value?: unknown; error?: string };
