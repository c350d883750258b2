// Which requests may take a connection to an upstream host now. A request with a body holds its
// connection for as long as its client takes to send the body, which Kura does not control: 300 clients
// trickling uploads would hold every connection of the pool, and reads (whose connection is busy only
// for S3's time) would queue behind them without end. So, per upstream origin:
//
// - at most `connections` requests are in flight (the pool's own size: undici never queues behind us);
// - requests with a body may hold at most `connections - read_reserve` of them: the rest is kept for
//   requests without one (GET, HEAD, DELETE, listings);
// - a request waits for a place at most `queue_timeout`, reads ahead of uploads, each kind first come
//   first served; past the bound it is refused with S3's own `503 SlowDown`, which every S3 client
//   retries with back-off.

import type { EventEmitter } from 'node:events';

/** No place became free within `upstream.queue_timeout`: answered 503 SlowDown. */
export class UpstreamBusyError extends Error {
  override name = 'UpstreamBusyError';
}

/** The client went away while its request waited for a place. */
export class AdmissionAbortedError extends Error {
  override name = 'AbortError';
}

export type RequestKind = 'read' | 'upload';

export interface AdmissionOptions {
  /** Requests in flight per origin (`upstream.connections`). */
  connections: number;
  /** Of those, how many requests with a body may never take (`upstream.read_reserve`). */
  readReserve: number;
  /** Longest wait for a place (`upstream.queue_timeout`). */
  queueTimeoutMs: number;
}

interface Waiter {
  admit: () => void;
}

interface OriginState {
  active: number;
  uploads: number;
  reads: Waiter[];
  writes: Waiter[];
}

export class UpstreamAdmission {
  readonly #opts: AdmissionOptions;
  readonly #origins = new Map<string, OriginState>();
  /** Requests waiting for a place now, for the `kura.upstream.waiting` gauge. */
  waiting = 0;
  /** Requests refused with 503 SlowDown because no place became free in time. */
  refused = 0;

  constructor(opts: AdmissionOptions) {
    this.#opts = {
      ...opts,
      readReserve: Math.min(Math.max(0, opts.readReserve), opts.connections - 1),
    };
  }

  /**
   * Resolves with the function that gives the place back once the request has ended (call it once).
   * Rejects with UpstreamBusyError after the queue timeout, or AdmissionAbortedError when `signal` aborts.
   */
  async admit(origin: string, kind: RequestKind, signal?: AbortSignal | EventEmitter): Promise<() => void> {
    const state = this.#state(origin);
    if (this.#fits(state, kind)) return this.#take(origin, state, kind);
    return new Promise<() => void>((resolve, reject) => {
      const queue = kind === 'read' ? state.reads : state.writes;
      const leave = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        this.waiting -= 1;
        clearTimeout(timer);
        unlisten();
      };
      const waiter: Waiter = {
        admit: () => {
          leave();
          resolve(this.#take(origin, state, kind));
        },
      };
      const timer = setTimeout(() => {
        leave();
        this.refused += 1;
        this.#forgetIfIdle(origin, state);
        reject(
          new UpstreamBusyError(`no connection to ${origin} free within ${this.#opts.queueTimeoutMs} ms`),
        );
      }, this.#opts.queueTimeoutMs);
      const onAbort = () => {
        leave();
        this.#forgetIfIdle(origin, state);
        reject(new AdmissionAbortedError('the client went away while waiting for a connection'));
      };
      const unlisten = listen(signal, onAbort);
      queue.push(waiter);
      this.waiting += 1;
    });
  }

  #fits(state: OriginState, kind: RequestKind): boolean {
    if (state.active >= this.#opts.connections) return false;
    return kind === 'read' || state.uploads < this.#opts.connections - this.#opts.readReserve;
  }

  #take(origin: string, state: OriginState, kind: RequestKind): () => void {
    state.active += 1;
    if (kind === 'upload') state.uploads += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.active -= 1;
      if (kind === 'upload') state.uploads -= 1;
      this.#next(state);
      this.#forgetIfIdle(origin, state);
    };
  }

  /** Admits waiters while places are free: reads first, then uploads within their share. */
  #next(state: OriginState): void {
    while (state.reads.length > 0 && this.#fits(state, 'read')) (state.reads[0] as Waiter).admit();
    while (state.writes.length > 0 && this.#fits(state, 'upload')) (state.writes[0] as Waiter).admit();
  }

  #state(origin: string): OriginState {
    let state = this.#origins.get(origin);
    if (!state) {
      state = { active: 0, uploads: 0, reads: [], writes: [] };
      this.#origins.set(origin, state);
    }
    return state;
  }

  #forgetIfIdle(origin: string, state: OriginState): void {
    if (state.active === 0 && state.reads.length === 0 && state.writes.length === 0) {
      this.#origins.delete(origin);
    }
  }
}

/** Calls `onAbort` once when `signal` aborts; returns the function that stops listening. */
function listen(signal: AbortSignal | EventEmitter | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => {};
  if ('aborted' in signal && typeof signal.addEventListener === 'function') {
    if (signal.aborted) {
      queueMicrotask(onAbort);
      return () => {};
    }
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }
  const emitter = signal as EventEmitter;
  emitter.once('abort', onAbort);
  return () => emitter.removeListener('abort', onAbort);
}
