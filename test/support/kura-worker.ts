// A worker of a test's worker group (test/support/kura.ts): the real worker, plus two views a test needs
// from inside it, the cache's counters and emptying the RAM tier.

import { runWorker } from '../../src/server/worker.js';

await runWorker({
  'test:cache-stats': (kura) => ({ ...kura.cache.stats }),
  'test:drop-ram': (kura) => {
    kura.cache.ram.deletePrefix('');
    return true;
  },
});
