// One worker of a worker group: a whole Kura instance (src/server/kura.ts) on the ports its primary
// shares out (node:cluster), a fleet member of the volume with its own instance id. It answers the
// primary's questions for the admin listener and follows its stop and reload orders; signals sent to
// the worker itself (a terminal's Ctrl+C reaches the whole process group) mean the same.

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createLogger } from '../telemetry/log.js';
import { type RunningKura, startKura } from './kura.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

/** Views beyond the admin listener's, by name (tests add their own: test/support/kura-worker.ts). */
export type ExtraViews = Record<string, (kura: RunningKura) => unknown>;

function send(message: FromWorker): void {
  process.send?.(message);
}

export async function runWorker(extra: ExtraViews = {}): Promise<void> {
  const start = await new Promise<Extract<ToWorker, { kind: 'start' }>>((resolve) => {
    const first = (m: ToWorker) => {
      if (m.kind !== 'start') return;
      process.off('message', first);
      resolve(m);
    };
    process.on('message', first);
    send({ kind: 'hello' });
  });
  const { config, worker } = start;
  const log = createLogger(config.log.level, process.stderr, { worker });
  let kura: RunningKura;
  try {
    kura = await startKura(config, { log });
  } catch (err) {
    send({ kind: 'failed', error: (err as Error).message });
    process.exit(1);
  }
  // The group shares what each worker learns of who may read a hit.
  kura.cache.hitAuth.onChange = (change) => send({ kind: 'hit-auth', change });
  // Only a worker that answers from remembered records without a look at them needs the others' changes.
  if (config.cache.record_recheck > 0) kura.cache.records.onChange = (path) => send({ kind: 'record', path });
  const views: Record<string, () => unknown> = {
    ready: () => kura.views.ready(),
    // The resource is the primary's to describe; the points are what it adds up.
    metrics: async () => ({ scopeMetrics: (await kura.views.metrics()).scopeMetrics }),
    stats: () => kura.views.stats(),
    dashboard: async () => {
      const d = await kura.views.dashboard();
      const metrics = d.metrics && ({ scopeMetrics: d.metrics.scopeMetrics } as unknown as ResourceMetrics);
      return { ...d, metrics };
    },
    ...Object.fromEntries(Object.entries(extra).map(([name, view]) => [name, () => view(kura)])),
  };

  let stopping = false;
  const stop = (graceMs: number) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping: no new connections; requests in flight may finish', { graceSeconds: graceMs / 1000 });
    kura.close(graceMs).finally(() => process.exit(0));
  };
  const now = () => {
    log.warn('stopping at once');
    kura.abandon();
    process.exit(1);
  };
  const reload = () =>
    kura
      .reload()
      .then(() => log.info('access log reopened and rules file read'))
      .catch((err: Error) => log.error('reload failed', { error: err.message }));
  process.on('message', (m: ToWorker) => {
    if (m.kind === 'ask') {
      const view = views[m.view];
      Promise.resolve(view ? view() : Promise.reject(new Error(`no view ${m.view}`)))
        .then((value) => send({ kind: 'answer', id: m.id, value }))
        .catch((err: Error) => send({ kind: 'answer', id: m.id, error: err.message }));
    } else if (m.kind === 'hit-auth') kura.cache.hitAuth.apply(m.change);
    else if (m.kind === 'record') kura.cache.records.forget(m.path);
    else if (m.kind === 'reload') void reload();
    else if (m.kind === 'stop') stop(m.graceMs);
    else if (m.kind === 'now') now();
  });
  const signalled = () => (stopping ? now() : stop(config.server.shutdown_grace));
  process.on('SIGTERM', signalled);
  process.on('SIGINT', signalled);
  process.on('SIGHUP', () => void reload());
  send({
    kind: 'listening',
    http: kura.http,
    https: kura.https,
    tls: kura.tls,
    volume: {
      dir: kura.cache.volume.dir,
      chunkSize: kura.cache.volume.chunkSize,
      instance: kura.cache.volume.instanceId,
    },
  });
}
