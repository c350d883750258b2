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
//
// A client that sends one request at a time (an engine reading ranges one after another) has nothing to
// share a turn with: each of its reads waited for the turn's end alone, and the hop cost a 4 KiB hit a
// tenth of its time. So the first read of a turn goes on at once when the last turn that had reads had
// only that one; under load turns hold several, and their first read waits with the rest.
// Measured in bench/README.md ("Where the time goes").

/** The wait of this turn's reads, once one waits. */
let waiting: { promise: Promise<void>; resolve: () => void } | null = null;
/** Reads that came in this turn. */
let reads = 0;
/** Whether the last turn with reads had one only. */
let alone = true;

function endTurn(): void {
  alone = reads === 1;
  reads = 0;
  const turn = waiting;
  waiting = null;
  turn?.resolve();
}

/**
 * Resolves once this turn's I/O callbacks have run; every read waiting on it goes on then. Null when the
 * read goes on at once (the first of a turn, after a turn that had no other).
 */
export function readTurn(): Promise<void> | null {
  reads += 1;
  if (reads === 1) {
    setImmediate(endTurn);
    if (alone) return null;
  }
  if (waiting === null) {
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    waiting = { promise, resolve };
  }
  return waiting.promise;
}
