// One GetObject or HeadObject as the read states (read-path.ts, fill.ts, record-answer.ts) pass it on:
// the exchange, the rule that governs its key, and what lookup learned of the request.

import type { EffectiveRule } from '../../config/rules.js';
import type { Conditionals } from '../../s3/conditionals.js';
import type { ObjectKey } from '../../store/types.js';
import type { Cache } from '../cache.js';
import type { Exchange, PassOptions } from '../exchange/exchange.js';

export interface ReadJob {
  ex: Exchange;
  opts: PassOptions;
  cache: Cache;
  key: ObjectKey;
  rule: EffectiveRule;
  method: 'GET' | 'HEAD';
  part: number | null;
  conditionals: Conditionals;
  now: number;
}
