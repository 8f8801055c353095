// The outbound sleeve path: TUN batch in -> route lookup -> packets packed
// into one datagram per next hop (sealed with a password) -> sendmmsg out.
// Without a password a TCP or UDP super-packet stays whole until the send
// cuts it, as on the udp and vxlan paths: each segment is a datagram of one
// frame anyway, so packing it would only copy it.
import { drainRounds } from '../drainRounds.js';
import { outboundHop } from '../outboundHop.js';
import { countCut, PacketBatch } from '../packetBatch.js';
import type { PathState } from '../pathState.js';
import type { TunPort, UnderlayPort } from '../ports.js';
import type { TooBigReplies } from '../tooBigReplies.js';
import type { DatagramAssembler } from './datagramAssembler.js';
import { FRAME_PREFIX, KIND_PLAIN, PLAIN_HEADER } from './sleeveFormat.js';

/** Room for 8 super-packets of 64 KiB and their headroom: the readWhole stops short of a ninth. */
const WHOLE_SLAB = 9 * 65536 + 8 * 128;
/** Before each packet read whole: a plain datagram's header and the frame's length. */
const HEADROOM = 64;
const CUT_PREFIX = PLAIN_HEADER + FRAME_PREFIX;

export class TunToSleeve {
  private readonly batch: PacketBatch;
  /** Super-packets waiting for the send that cuts them: columns 0 .. cuts of the batch. */
  private cuts = 0;
  private cutPackets = 0;
  private cutBytes = 0;
  private readonly readBatch: () => number;
  private readonly handleBatch: (n: number) => void;

  constructor(
    private readonly path: PathState,
    private readonly tun: TunPort,
    private readonly udp: UnderlayPort,
    private readonly assembler: DatagramAssembler,
    private readonly tooBig: TooBigReplies,
    batch: { size: number; slotSize: number },
  ) {
    const drops = path.counters.drops;
    if (path.keys === null) {
      this.batch = new PacketBatch(batch.size, HEADROOM + batch.slotSize, HEADROOM, Buffer.allocUnsafeSlow(WHOLE_SLAB));
      this.readBatch = () => this.tun.readWhole(this.batch, drops);
      this.handleBatch = (n) => this.forwardWhole(n);
    } else {
      this.batch = new PacketBatch(batch.size, batch.slotSize, 0);
      this.readBatch = () => this.tun.read(this.batch, drops);
      this.handleBatch = (n) => this.forward(n);
    }
  }

  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  /** Sealed: every packet (super-packets were cut at the read) packed and sealed. */
  private forward(n: number): void {
    const { batch, assembler } = this;
    const { routes, counters } = this.path;
    const { slab: buf, lengths } = batch;
    const drops = counters.drops;
    const packetMax = assembler.packetMax;
    for (let i = 0; i < n; i++) {
      const start = batch.offset(i);
      const length = lengths[i];
      const hop = outboundHop(routes, buf, start, length, drops);
      if (hop === undefined) continue;
      if (length > packetMax) {
        this.tooBig.add(buf, start, length, packetMax);
        continue;
      }
      assembler.append(hop, buf, start, length);
    }
    assembler.flush();
    this.tooBig.flush();
  }

  /**
   * Plain: packets packed as above, super-packets cut in the send, each
   * segment its own datagram. Whichever of the two is pending goes out before
   * the other takes a packet, so a flow's packets leave in the order read.
   */
  private forwardWhole(n: number): void {
    const { batch, assembler } = this;
    const { routes, counters } = this.path;
    const { slab: buf, inOffsets, lengths, gsoSizes, segments, segmentBytes, outOffsets, outLengths, addrs, ports } = batch;
    const drops = counters.drops;
    const packetMax = assembler.packetMax;
    for (let i = 0; i < n; i++) {
      const start = inOffsets[i];
      const length = lengths[i];
      const hop = outboundHop(routes, buf, start, length, drops);
      if (hop === undefined) continue;
      const gsoSize = gsoSizes[i];
      const cut = segments[i];
      const cutBytes = segmentBytes[i];
      // All segments but the last are the largest: headers (the same on each) and gsoSize.
      const largest = cut > 1 ? (cutBytes - length) / (cut - 1) + gsoSize : length;
      if (largest > packetMax) {
        this.tooBig.add(buf, start, length, packetMax);
        drops.too_big += cut - 1;
        continue;
      }
      if (gsoSize === 0) {
        if (this.cuts > 0) this.sendCuts();
        assembler.append(hop, buf, start, length);
        continue;
      }
      assembler.flush();
      const at = start - CUT_PREFIX;
      buf.writeUInt32BE(KIND_PLAIN << 24, at);
      const k = this.cuts++;
      outOffsets[k] = at;
      outLengths[k] = length + CUT_PREFIX;
      gsoSizes[k] = gsoSize;
      segments[k] = cut;
      segmentBytes[k] = cutBytes;
      addrs[k] = hop.addr;
      ports[k] = hop.port;
      hop.counters.txPackets += cut;
      hop.counters.txBytes += cutBytes;
      this.cutPackets += cut;
      this.cutBytes += cutBytes;
    }
    if (this.cuts > 0) this.sendCuts();
    assembler.flush();
    this.tooBig.flush();
  }

  private sendCuts(): void {
    const { batch } = this;
    const { counters } = this.path;
    const count = this.cuts;
    let packets = this.cutPackets;
    let bytes = this.cutBytes;
    this.cuts = this.cutPackets = this.cutBytes = 0;
    if (this.udp.sendCut(batch, count, CUT_PREFIX, PLAIN_HEADER) !== count) {
      const went = countCut(batch, count);
      counters.drops.udp_send += packets - went.packets;
      packets = went.packets;
      bytes = went.bytes;
    }
    counters.tx.packets += packets;
    counters.tx.bytes += bytes;
    counters.tx.batches++;
  }
}
