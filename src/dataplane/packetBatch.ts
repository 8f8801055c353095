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
  /** After a send or write: 0 for each packet that went, else the errno that stopped it. */
  readonly status: Int32Array;
  /**
   * For a TUN write: where an outgoing packet's L4 header starts (0: its
   * checksum is complete) and its checksum field's offset in that header,
   * when a peer's kernel left the checksum unfinished.
   */
  readonly csumStarts: Uint8Array;
  readonly csumOffsets: Uint8Array;
  /**
   * The segment size of a TCP (or UDP) super-packet (0: a plain packet): one a peer's
   * kernel sent whole over a veth, for a TUN write; one read whole from the
   * TUN (readWhole), for a send that cuts it (sendCut).
   */
  readonly gsoSizes: Uint16Array;
  /** What a packet read whole becomes once cut: IP packets, and their bytes (1 and its length when plain). */
  readonly segments: Uint16Array;
  readonly segmentBytes: Uint32Array;
  /**
   * Where each packet read starts: slot i's, or with UDP_GRO, wherever the
   * kernel's coalesced datagrams put it (several to a slot).
   */
  readonly inOffsets: Uint32Array;

  constructor(
    /** Slots in the slab. */
    readonly size: number,
    readonly slotSize: number,
    /** Bytes kept free before each packet so headers can be written in place. */
    readonly headroom: number,
    slab?: Buffer,
    /** Packets the columns hold: more than the slots when one slot holds several (UDP_GRO). */
    readonly columns = size,
  ) {
    this.slab = slab ?? Buffer.allocUnsafeSlow(size * slotSize);
    this.lengths = new Uint32Array(columns);
    this.addrs = new Uint32Array(columns);
    this.ports = new Uint16Array(columns);
    this.outOffsets = new Uint32Array(columns);
    this.outLengths = new Uint32Array(columns);
    this.status = new Int32Array(columns);
    this.csumStarts = new Uint8Array(columns);
    this.csumOffsets = new Uint8Array(columns);
    this.gsoSizes = new Uint16Array(columns);
    this.segments = new Uint16Array(columns);
    this.segmentBytes = new Uint32Array(columns);
    this.inOffsets = new Uint32Array(columns);
    for (let i = 0; i < size; i++) this.inOffsets[i] = i * slotSize + headroom;
  }

  /** Another set of columns over the same packets (to send some of them elsewhere). */
  sharingSlab(): PacketBatch {
    return new PacketBatch(this.size, this.slotSize, this.headroom, this.slab, this.columns);
  }

  /** Where packet i starts, as read. */
  offset(i: number): number {
    return this.inOffsets[i];
  }
}

/**
 * Of a batch the kernel took only in part: the packets that went, and their
 * bytes less `overhead` each (the inner bytes). Off the fast path: a full
 * send needs no pass over the columns.
 */
export function countSent(batch: PacketBatch, count: number, overhead = 0): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    if (batch.status[i] !== 0) continue;
    packets++;
    bytes += batch.outLengths[i] - overhead;
  }
  return { packets, bytes };
}

/** Of a sendCut the kernel took only in part: the IP packets and bytes of the entries that went. */
export function countCut(batch: PacketBatch, count: number): { packets: number; bytes: number } {
  let packets = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    if (batch.status[i] !== 0) continue;
    packets += batch.segments[i];
    bytes += batch.segmentBytes[i];
  }
  return { packets, bytes };
}

/** n rounded up to a multiple of `to`: slots start on cache lines. */
export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
