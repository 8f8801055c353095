// A sliding window of the last 2^16 counters seen from one peer in one epoch
// (RFC 6479 style bitmap). `fresh` is asked before a datagram is opened;
// `mark` only after it authenticated, so forgeries cannot move the window.

export const WINDOW_BITS = 1 << 16;
const WORDS = WINDOW_BITS >>> 5;

export class ReplayWindow {
  private readonly bits = new Uint32Array(WORDS);
  /** Highest counter marked so far; -1 before the first. */
  private top = -1;

  /** A window that takes every counter up to `top` as seen: how a successor goes on with one whose bits it was not given. */
  static seenThrough(top: number): ReplayWindow {
    const w = new ReplayWindow();
    w.top = top;
    if (top >= 0) w.bits.fill(0xffffffff);
    return w;
  }

  get highest(): number {
    return this.top;
  }

  /** True if `counter` is newer than the window or inside it and unseen. */
  fresh(counter: number): boolean {
    if (counter > this.top) return true;
    if (this.top - counter >= WINDOW_BITS) return false;
    const bit = counter % WINDOW_BITS;
    return (this.bits[bit >>> 5] & (1 << (bit & 31))) === 0;
  }

  mark(counter: number): void {
    if (counter > this.top) {
      if (counter - this.top >= WINDOW_BITS) {
        this.bits.fill(0);
      } else {
        // Clear the slots the window slides over, which still hold counters a window ago.
        for (let c = this.top + 1; c < counter; c++) {
          const bit = c % WINDOW_BITS;
          this.bits[bit >>> 5] &= ~(1 << (bit & 31));
        }
      }
      this.top = counter;
    }
    const bit = counter % WINDOW_BITS;
    this.bits[bit >>> 5] |= 1 << (bit & 31);
  }
}
