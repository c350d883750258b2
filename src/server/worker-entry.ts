// The script node:cluster runs in each worker process of `kura serve` (src/server/worker-group.ts).

import { runWorker } from './worker.js';

await runWorker();
