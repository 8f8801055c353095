// Sealing and opening sleeve datagrams in place, a batch at a time: the
// headers, keys and replay windows are decided here; the cipher runs in the
// addon over the whole batch (one call, libsodium's crypto_secretbox).
import { KEY_BYTES } from '../../crypto/nacl.js';
import type { DropCounters } from '../counters.js';
import { native } from '../native.js';
import type { PeerCrypto } from './peerCrypto.js';
import { KIND_SEALED, MAC_BYTES, SEALED_HEADER } from './sleeveFormat.js';

const TWO_32 = 2 ** 32;
const KEY = KEY_BYTES;
const TEXT_AT = SEALED_HEADER + MAC_BYTES;

/** Datagrams waiting to be sealed: where they are, how long their text is, and each one's key. */
export class Sealer {
  private readonly starts: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly keys: Buffer;
  private count = 0;

  constructor(readonly max: number) {
    this.starts = new Uint32Array(max);
    this.lengths = new Uint32Array(max);
    this.keys = Buffer.alloc(max * KEY);
  }

  /**
   * Writes the sealed header at buf[base] for the frames that follow it
   * (plainLength bytes after the MAC) and queues them. Returns the datagram's length.
   */
  add(buf: Buffer, base: number, plainLength: number, crypto: PeerCrypto): number {
    const counter = crypto.nextTxCounter();
    buf.writeUInt32BE(KIND_SEALED << 24, base);
    buf.writeUInt32BE(crypto.txEpoch, base + 4);
    buf.writeUInt32BE(Math.floor(counter / TWO_32), base + 8);
    buf.writeUInt32BE(counter >>> 0, base + 12);
    crypto.txKey.copy(this.keys, this.count * KEY);
    this.starts[this.count] = base;
    this.lengths[this.count] = plainLength;
    this.count++;
    return TEXT_AT + plainLength;
  }

  /** Seals everything queued, in place in buf. */
  run(buf: Buffer): void {
    if (this.count > 0) native.sealBatch(buf, this.starts, this.lengths, this.keys, this.count);
    this.count = 0;
  }
}

/**
 * Datagrams waiting to be opened. `add` checks a header against the replay
 * window (and counts the drop when it fails); `run` opens the batch; `accept`
 * then marks each one that authenticated in its window, so forgeries never
 * move it, and catches a replay inside the batch itself.
 */
export class Opener {
  /** Where entry k's frames start after `run`. */
  readonly textStarts: Uint32Array;
  private readonly starts: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly keys: Buffer;
  private readonly ok: Uint8Array;
  private readonly epochs: Uint32Array;
  private readonly counters: Float64Array;
  private readonly cryptos: (PeerCrypto | null)[];
  count = 0;

  constructor(readonly max: number) {
    this.textStarts = new Uint32Array(max);
    this.starts = new Uint32Array(max);
    this.lengths = new Uint32Array(max);
    this.keys = Buffer.alloc(max * KEY);
    this.ok = new Uint8Array(max);
    this.epochs = new Uint32Array(max);
    this.counters = new Float64Array(max);
    this.cryptos = new Array<PeerCrypto | null>(max).fill(null);
  }

  get full(): boolean {
    return this.count === this.max;
  }

  /** Queues the datagram at buf[start, start + length); returns its entry, or -1 after counting why not. */
  add(buf: Buffer, start: number, length: number, crypto: PeerCrypto, drops: DropCounters): number {
    if (length < TEXT_AT || buf.readUInt32BE(start) !== KIND_SEALED << 24) {
      drops.bad_header++;
      return -1;
    }
    const epoch = buf.readUInt32BE(start + 4);
    const counter = buf.readUInt32BE(start + 8) * TWO_32 + buf.readUInt32BE(start + 12);
    const rx = crypto.rxFor(epoch);
    if (rx === null || !rx.window.fresh(counter)) {
      drops.replay++;
      return -1;
    }
    const k = this.count++;
    rx.key.copy(this.keys, k * KEY);
    this.starts[k] = start;
    this.lengths[k] = length - TEXT_AT;
    this.textStarts[k] = start + TEXT_AT;
    this.epochs[k] = epoch;
    this.counters[k] = counter;
    this.cryptos[k] = crypto;
    return k;
  }

  /** Opens everything queued, in place in buf. */
  run(buf: Buffer): void {
    if (this.count > 0) native.openBatch(buf, this.starts, this.lengths, this.keys, this.count, this.ok);
  }

  /** After `run`: whether entry k authenticated and is new; marks it seen. */
  accept(k: number, drops: DropCounters): boolean {
    const crypto = this.cryptos[k]!;
    this.cryptos[k] = null;
    if (this.ok[k] !== 1) {
      drops.bad_seal++;
      return false;
    }
    const epoch = this.epochs[k];
    const rx = epoch === crypto.rx.epoch + 1 ? crypto.advanceRx() : crypto.rxFor(epoch);
    if (rx === null || !rx.window.fresh(this.counters[k])) {
      drops.replay++; // the same datagram twice in one batch, or an epoch left behind meanwhile
      return false;
    }
    rx.window.mark(this.counters[k]);
    return true;
  }

  reset(): void {
    this.count = 0;
  }
}
