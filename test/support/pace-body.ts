// The in-memory origin's paced writer: a bandwidth cap per response, and cut answers for 'truncate' faults.

import type http from 'node:http';
import { performance } from 'node:perf_hooks';

const PACE_SLICE = 64 * 1024;

export /**
 * Writes `body` at up to `bytesPerSec` (0: unlimited) in slices, waiting for the socket to drain. With
 * `stopAfter`, ends the connection after that many bytes although Content-Length promised more.
 */
function paceBody(
  res: http.ServerResponse,
  body: Buffer,
  bytesPerSec: number,
  stopAfter: number | undefined,
  sent: (bytes: number) => void,
): void {
  const total = stopAfter === undefined ? body.length : Math.min(stopAfter, body.length);
  // Slices of ~1/20 s of transfer keep a slow rate smooth; 64 KiB caps them for fast ones.
  const slice = bytesPerSec > 0 ? Math.max(1, Math.min(PACE_SLICE, Math.floor(bytesPerSec / 20))) : total;
  const began = performance.now();
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  const step = (): void => {
    timer = undefined;
    while (offset < total) {
      if (res.destroyed) return;
      // Byte `offset` is due `offset / bytesPerSec` seconds after the first.
      const wait = bytesPerSec > 0 ? began + (offset / bytesPerSec) * 1000 - performance.now() : 0;
      if (wait >= 1) {
        timer = setTimeout(step, wait);
        return;
      }
      const next = Math.min(total, offset + slice);
      const more = res.write(body.subarray(offset, next));
      sent(next - offset);
      offset = next;
      if (!more) {
        res.once('drain', step);
        return;
      }
    }
    if (stopAfter === undefined) {
      res.end();
      return;
    }
    // end() queues the FIN behind what was written: the client gets exactly `total` bytes, then EOF.
    const socket = res.socket;
    socket?.end(() => socket.destroy());
  };
  res.once('close', () => clearTimeout(timer));
  // A cut before the first body byte still sends the headers.
  if (total === 0) res.flushHeaders();
  step();
}
