// The worker thread of bench/sync-http.ts: performs each HTTP request it is handed with fetch, posts the
// answer back on the port, then wakes the waiting thread through the shared flag.

import { type MessagePort, parentPort } from 'node:worker_threads';

export interface SyncRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export type SyncAnswer =
  | { status: number; statusText: string; headers: Record<string, string>; body: ArrayBuffer }
  | { error: string };

parentPort?.once('message', ({ port, flag }: { port: MessagePort; flag: Int32Array }) => {
  port.on('message', async (req: SyncRequest) => {
    let answer: SyncAnswer;
    const transfer: ArrayBuffer[] = [];
    try {
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        ...(req.body ? { body: req.body } : {}),
      });
      const body = await res.arrayBuffer();
      transfer.push(body);
      answer = {
        status: res.status,
        statusText: res.statusText,
        headers: Object.fromEntries(res.headers),
        body,
      };
    } catch (err) {
      answer = { error: String(err) };
    }
    port.postMessage(answer, transfer);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});
