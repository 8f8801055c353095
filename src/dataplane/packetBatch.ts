// A batch of packet slots in one preallocated slab, plus the per-packet arrays
// the addon fills or reads. Allocated once per direction; reused for every batch.

export class PacketBatch {
  readonly slab: Buffer;
  /** Lengths as received (read side). */
  readonly lengths: Uint32Array;
  /** Peer addresses and ports: sources on receive, destinations on send. */
  readonly addrs: Uint32Array;
  readonly ports: Uint16Array;
  /** Where each outgoing packet starts in the slab, and how long it is. */
  readonly outOffsets: Uint32Array;
  readonly outLengths: Uint32Array;

  constructor(
    readonly size: number,
    readonly slotSize: number,
    /** Bytes kept free before each packet so headers can be written in place. */
    readonly headroom: number,
    slab?: Buffer,
  ) {
    this.slab = slab ?? Buffer.allocUnsafeSlow(size * slotSize);
    this.lengths = new Uint32Array(size);
    this.addrs = new Uint32Array(size);
    this.ports = new Uint16Array(size);
    this.outOffsets = new Uint32Array(size);
    this.outLengths = new Uint32Array(size);
  }

  /** Another set of columns over the same packets (to send some of them elsewhere). */
  sharingSlab(): PacketBatch {
    return new PacketBatch(this.size, this.slotSize, this.headroom, this.slab);
  }

  /** Where packet i starts, as read. */
  offset(i: number): number {
    return i * this.slotSize + this.headroom;
  }

  get capacity(): number {
    return this.slotSize - this.headroom;
  }
}

/** Sum of the first n lengths; only for the rare batch the kernel took in part. */
export function sumLengths(lengths: Uint32Array, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += lengths[i];
  return total;
}
