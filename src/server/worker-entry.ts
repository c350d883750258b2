// The script node:cluster runs in each worker process of `kura serve` (src/server/worker-group.ts).

import { tuneV8 } from './v8-tuning.js';
import { runWorker } from './worker.js';

tuneV8();

await runWorker();
