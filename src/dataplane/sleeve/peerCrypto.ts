// Data-path keys for one neighbour: a sending key and counter, and the
// receiving keys of the current and the previous epoch with their replay
// windows. An epoch's key is hashed from the connection's base key, so a
// renewal needs no message: the sender moves to epoch e+1 after `rekeyAfter`
// datagrams and the receiver follows when a datagram of e+1 authenticates.
import { deriveKey, wipe } from '../../crypto/nacl.js';
import type { DirectionKeys } from '../../crypto/sessionKeys.js';
import { ReplayWindow } from './replayWindow.js';

/** Renewal long before 2^64: also keeps counters exact as JS numbers. */
export const DEFAULT_REKEY_AFTER = 2 ** 32;

/** Where a neighbour's keys stood when a predecessor handed over (a takeover). */
export interface CryptoHandover {
  txEpoch: number;
  rxEpoch: number;
  /** The highest counter received in rxEpoch; -1: none. */
  rxTop: number;
}

export interface RxEpoch {
  readonly epoch: number;
  readonly key: Buffer;
  readonly window: ReplayWindow;
}

export class PeerCrypto {
  txEpoch = 0;
  txCounter = 0;
  txKey: Buffer;
  rx: RxEpoch;
  rxPrevious: RxEpoch | null = null;
  /** Key of epoch rx.epoch + 1, made ahead so a forged epoch costs no hashing. */
  private rxNextKey: Buffer;

  constructor(
    /** The connection's keys this state was made from. */
    readonly base: DirectionKeys,
    readonly rekeyAfter = DEFAULT_REKEY_AFTER,
  ) {
    this.txKey = epochKey(base.send, 0);
    this.rx = { epoch: 0, key: epochKey(base.receive, 0), window: new ReplayWindow() };
    this.rxNextKey = epochKey(base.receive, 1);
  }

  handover(): CryptoHandover {
    return { txEpoch: this.txEpoch, rxEpoch: this.rx.epoch, rxTop: this.rx.window.highest };
  }

  /**
   * Goes on from a predecessor's state. Sending moves to the next epoch, so
   * no nonce of the old process is used again whatever its last counter;
   * receiving takes every counter up to the last one seen as seen.
   */
  resume(from: CryptoHandover): void {
    wipe(this.txKey);
    this.txEpoch = from.txEpoch + 1;
    this.txKey = epochKey(this.base.send, this.txEpoch);
    this.txCounter = 0;
    wipe(this.rx.key);
    wipe(this.rxNextKey);
    this.rx = { epoch: from.rxEpoch, key: epochKey(this.base.receive, from.rxEpoch), window: ReplayWindow.seenThrough(from.rxTop) };
    this.rxNextKey = epochKey(this.base.receive, from.rxEpoch + 1);
    this.rxPrevious = null;
  }

  /** The counter for the next datagram sent, renewing the key when due. */
  nextTxCounter(): number {
    if (this.txCounter >= this.rekeyAfter) {
      wipe(this.txKey);
      this.txEpoch++;
      this.txKey = epochKey(this.base.send, this.txEpoch);
      this.txCounter = 0;
    }
    return this.txCounter++;
  }

  /** Where a received datagram's epoch is kept, or null for one we cannot have keys for. */
  rxFor(epoch: number): RxEpoch | null {
    if (epoch === this.rx.epoch) return this.rx;
    if (epoch === this.rx.epoch + 1) return { epoch, key: this.rxNextKey, window: NEXT_WINDOW };
    if (this.rxPrevious !== null && epoch === this.rxPrevious.epoch) return this.rxPrevious;
    return null;
  }

  /** A datagram of epoch rx.epoch + 1 authenticated: that epoch is current now. */
  advanceRx(): RxEpoch {
    if (this.rxPrevious) wipe(this.rxPrevious.key);
    this.rxPrevious = this.rx;
    this.rx = { epoch: this.rx.epoch + 1, key: this.rxNextKey, window: new ReplayWindow() };
    this.rxNextKey = epochKey(this.base.receive, this.rx.epoch + 1);
    return this.rx;
  }
}

/** Stands in for the window of an epoch not started yet: everything in it is fresh. */
const NEXT_WINDOW = new ReplayWindow();

function epochKey(base: Buffer, epoch: number): Buffer {
  const label = Buffer.alloc(20);
  label.write('tsoverlay epoch ', 0);
  label.writeUInt32BE(epoch, 16);
  return deriveKey(base, label);
}
