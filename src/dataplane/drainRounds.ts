// What one readiness callback does, in either direction: read a batch, handle
// it, and go on while batches come back full — up to a few of them, so the
// other direction gets its turn on the one thread.
import type { DropCounters } from './counters.js';

const ROUNDS_PER_WAKEUP = 4;

/** `read` returns a count or -errno; `full` is the count that means "there may be more". */
export function drainRounds(read: () => number, handle: (n: number) => void, full: number, drops: DropCounters): void {
  for (let round = 0; round < ROUNDS_PER_WAKEUP; round++) {
    const n = read();
    if (n < 0) drops.io_error++;
    if (n <= 0) return;
    handle(n);
    if (n < full) return;
  }
}
