// Readiness: each check answers "why not", or null. Verdicts are kept for a short while so that a load
// balancer probing every second does not turn into a stream of writes to the volume and DNS queries.

export interface ReadinessCheck {
  name: string;
  /** Why the instance should not get traffic, or null when this part is fine. */
  run(): Promise<string | null>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; problem?: string }>;
}

export class Readiness {
  readonly #checks: readonly ReadinessCheck[];
  readonly #cacheMs: number;
  #last: { at: number; report: ReadinessReport } | null = null;
  #running: Promise<ReadinessReport> | null = null;

  constructor(checks: readonly ReadinessCheck[], cacheMs = 1_000) {
    this.#checks = checks;
    this.#cacheMs = cacheMs;
  }

  async report(): Promise<ReadinessReport> {
    if (this.#last && performance.now() - this.#last.at < this.#cacheMs) return this.#last.report;
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #run(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.#checks.map(async (c) => {
        const problem = await c.run().catch((err: Error) => `${c.name} check failed: ${err.message}`);
        return [c.name, problem === null ? { ok: true } : { ok: false, problem }] as const;
      }),
    );
    const checks = Object.fromEntries(results);
    const report = { ready: results.every(([, r]) => r.ok), checks };
    this.#last = { at: performance.now(), report };
    return report;
  }
}
