// Work an instance must finish when it stops, after its last request: flushing the journal, releasing
// the leader lock. Other parts register here; each hook gets a share of the time left and a failure in
// one does not keep the others from running.

import type { Logger } from '../telemetry/log.js';

export type ShutdownHook = () => Promise<void>;

export class ShutdownHooks {
  readonly #hooks: { name: string; run: ShutdownHook }[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Hooks run in the order they were added. */
  add(name: string, run: ShutdownHook): void {
    this.#hooks.push({ name, run });
  }

  /** Runs every hook, each bounded by what remains of `withinMs`. */
  async run(withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    for (const hook of this.#hooks) {
      const left = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      try {
        const r = await Promise.race([hook.run().then(() => 'done' as const), timedOut]);
        if (r === 'timeout') this.#log.warn('shutdown step did not finish in time', { step: hook.name });
      } catch (err) {
        this.#log.error('shutdown step failed', { step: hook.name, error: (err as Error).message });
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
