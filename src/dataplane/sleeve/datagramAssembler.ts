// Packs packets into sleeve datagrams, one open datagram per next hop, and
// sends them all, sealed when keys are in use, when the batch in hand is done.
// Nothing waits for more traffic: a lone packet leaves in a datagram of one.
import { endpointKey, type NextHop } from '../nextHop.js';
import { align, PacketBatch } from '../packetBatch.js';
import type { PathState } from '../pathState.js';
import type { UnderlayPort } from '../ports.js';
import { FRAME_PREFIX, KIND_PLAIN, sleeveHeaderBytes } from './sleeveFormat.js';
import { Sealer } from './sleeveSeal.js';

export class DatagramAssembler {
  private readonly out: PacketBatch;
  private readonly hops: (NextHop | null)[];
  /** Per datagram: bytes of frames so far, packets in it, and their bytes. */
  private readonly fill: Uint32Array;
  private readonly packets: Uint32Array;
  private readonly bytes: Uint32Array;
  private used = 0;
  private readonly headerBytes: number;
  private readonly sealer: Sealer;

  constructor(
    private readonly path: PathState,
    private readonly udp: UnderlayPort,
    /** Whose packets these are: the host's own (tx) or passing through (relayed). */
    private readonly role: 'tx' | 'relay',
    slots: number,
    /** The most UDP payload one datagram may carry on the path. */
    readonly datagramMax: number,
  ) {
    this.out = new PacketBatch(slots, align(datagramMax, 64), 0);
    this.hops = new Array<NextHop | null>(slots).fill(null);
    this.fill = new Uint32Array(slots);
    this.packets = new Uint32Array(slots);
    this.bytes = new Uint32Array(slots);
    this.headerBytes = sleeveHeaderBytes(path.keys !== null);
    this.sealer = new Sealer(slots);
  }

  /** The largest inner packet a datagram can carry. */
  get packetMax(): number {
    return this.datagramMax - this.headerBytes - FRAME_PREFIX;
  }

  /** Copies the packet at src[start, start + length) into the hop's datagram; length ≤ packetMax. */
  append(hop: NextHop, src: Buffer, start: number, length: number): void {
    const room = this.datagramMax - this.headerBytes;
    // Most recent datagram first: a batch usually goes to one or two hops.
    let slot = -1;
    for (let k = this.used - 1; k >= 0; k--) {
      if (this.hops[k] === hop) {
        slot = k;
        break;
      }
    }
    if (slot < 0 || this.fill[slot] + FRAME_PREFIX + length > room) {
      if (this.used === this.hops.length) this.flush();
      slot = this.used++;
      this.hops[slot] = hop;
      this.fill[slot] = 0;
      this.packets[slot] = 0;
      this.bytes[slot] = 0;
    }
    const buf = this.out.slab;
    const at = slot * this.out.slotSize + this.headerBytes + this.fill[slot];
    buf.writeUInt16BE(length, at);
    src.copy(buf, at + FRAME_PREFIX, start, start + length);
    this.fill[slot] += FRAME_PREFIX + length;
    this.packets[slot]++;
    this.bytes[slot] += length;
    hop.counters.txPackets++;
    hop.counters.txBytes += length;
  }

  /** Seals and sends every open datagram. */
  flush(): void {
    if (this.used === 0) return;
    const { out, hops, fill, packets, bytes } = this;
    const { keys, counters } = this.path;
    const buf = out.slab;
    let n = 0;
    for (let k = 0; k < this.used; k++) {
      const hop = hops[k]!;
      hops[k] = null;
      const base = k * out.slotSize;
      let length: number;
      if (keys === null) {
        buf.writeUInt32BE(KIND_PLAIN << 24, base);
        length = this.headerBytes + fill[k];
      } else {
        const crypto = keys.get(endpointKey(hop.addr, hop.port));
        if (crypto === undefined) {
          counters.drops.no_key += packets[k];
          continue;
        }
        length = this.sealer.add(buf, base, fill[k], crypto);
      }
      out.outOffsets[n] = base;
      out.outLengths[n] = length;
      out.addrs[n] = hop.addr;
      out.ports[n] = hop.port;
      packets[n] = packets[k];
      bytes[n] = bytes[k];
      n++;
    }
    this.used = 0;
    this.sealer.run(buf);
    this.udp.send(out, n);
    let sentPackets = 0;
    let sentBytes = 0;
    for (let k = 0; k < n; k++) {
      if (out.status[k] === 0) {
        sentPackets += packets[k];
        sentBytes += bytes[k];
      } else {
        counters.drops.udp_send += packets[k];
      }
    }
    if (this.role === 'relay') {
      counters.relayed += sentPackets;
    } else {
      counters.tx.packets += sentPackets;
      counters.tx.bytes += sentBytes;
      counters.tx.batches++;
    }
  }
}
