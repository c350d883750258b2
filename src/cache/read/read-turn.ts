// Reads of the cache wait for the end of the event loop's turn and then go on together.
//
// Node runs each request as far as it can before it parses the next one read in the same turn. Reads
// that wait for the turn's I/O callbacks to end (setImmediate) go on side by side instead, which does two
// things:
// - One look at the volume's change mark, taken after all of them arrived, vouches for all their
//   records (src/store/change-mark.ts): a turn of hits costs one `stat`, not one each.
// - Their answers go out close together. A write to a TCP socket whose reader sleeps wakes the reader from
//   inside the writer's system call when both are on one host (loopback: sidecar clients, an engine
//   beside its cache); on a virtual machine that wake-up is an interrupt to another core, and it cost a
//   4 KiB RAM hit a sixth of its CPU when each answer found the client asleep again. Written together,
//   the first wakes it and the rest find it awake.
// Measured in bench/README.md ("Where the time goes"). The wait is the rest of the turn: nothing when
// one request is in flight, the other requests' work under load.

let turn: Promise<void> | null = null;

/** Resolves once this turn's I/O callbacks have run; every read waiting on it goes on then. */
export function readTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    }),
  );
  return turn;
}
