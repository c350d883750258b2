// Answers made from the cache go out together, once per turn of the event loop.
//
// A write to a TCP socket whose reader sleeps wakes the reader from inside the writer's system call when
// both are on one host (loopback: sidecar clients, an engine beside its cache): on a virtual machine that
// wake-up is an interrupt to another core, which cost a 4 KiB RAM hit a sixth of its CPU. Node runs each
// request to its answer before it parses the next one read in the same turn, so a client with many
// connections was woken once per answer, each time after it had gone back to sleep. Answers from the
// cache instead wait for the end of the turn's I/O (setImmediate) and are written back to back: the first
// wakes the client, the rest find it awake. Measured in bench/README.md ("Where the time goes"). The wait
// is the rest of the turn: nothing when one request is in flight, the other requests' work under load.

let turn: Promise<void> | null = null;

/** Resolves once this turn's I/O callbacks have run; every answer waiting on it is written then. */
export function answerTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = null;
      resolve();
    }),
  );
  return turn;
}
