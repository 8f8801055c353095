// Sealing of control frames on one TCP connection. TCP keeps order, so each
// direction's nonce is simply its frame count: a frame replayed, dropped or
// reordered by anyone in between fails to open, and the connection ends.
import { MAC_BYTES, NONCE_BYTES, openDetached, sealDetached } from './nacl.js';
import type { DirectionKeys } from './sessionKeys.js';

/** A channel's whole state, for a successor to go on with the same stream (a takeover). */
export interface ChannelState {
  keys: DirectionKeys;
  sent: number;
  received: number;
}

export class SealedChannel {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly keys: DirectionKeys,
    resumed?: { sent: number; received: number },
  ) {
    if (resumed) ({ sent: this.sent, received: this.received } = resumed);
  }

  state(): ChannelState {
    return { keys: this.keys, sent: this.sent, received: this.received };
  }

  /** [MAC][ciphertext of plain] */
  seal(plain: Buffer): Buffer {
    const out = Buffer.allocUnsafe(MAC_BYTES + plain.length);
    const text = out.subarray(MAC_BYTES);
    sealDetached(text, out.subarray(0, MAC_BYTES), plain, nonceOf(this.sent++), this.keys.send);
    return out;
  }

  /** The plain bytes, or null when the frame does not authenticate. */
  open(sealed: Buffer): Buffer | null {
    if (sealed.length < MAC_BYTES) return null;
    const text = sealed.subarray(MAC_BYTES);
    const plain = Buffer.allocUnsafe(text.length);
    if (!openDetached(plain, text, sealed.subarray(0, MAC_BYTES), nonceOf(this.received), this.keys.receive)) return null;
    this.received++;
    return plain;
  }
}

function nonceOf(counter: number): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  nonce.writeUIntBE(counter, 0, 6);
  return nonce;
}
