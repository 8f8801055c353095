// The outbound packet path: TUN batch in -> route lookup -> header in place -> sendmmsg out.
// A TCP or UDP super-packet stays whole until the send cuts it: one lookup and one
// header for all its segments, and its payload never copied in userspace.
import type { EncapCodec } from './codecs/codec.js';
import { drainRounds } from './drainRounds.js';
import { outboundHop } from './outboundHop.js';
import { countCut, PacketBatch } from './packetBatch.js';
import type { PathState } from './pathState.js';
import type { TunPort, UnderlayPort } from './ports.js';

/** Room for 8 super-packets of 64 KiB and their headroom: the readWhole stops short of a ninth. */
const WHOLE_SLAB = 9 * 65536 + 8 * 128;

export class TunToPeers {
  private readonly batch: PacketBatch;

  constructor(
    private readonly path: PathState,
    private readonly tun: TunPort,
    private readonly udp: UnderlayPort,
    private readonly codec: EncapCodec,
    batch: { size: number; slotSize: number; headroom: number },
  ) {
    this.batch = new PacketBatch(batch.size, batch.slotSize, batch.headroom, Buffer.allocUnsafeSlow(WHOLE_SLAB));
  }

  private readonly readBatch = (): number => this.tun.readWhole(this.batch, this.path.counters.drops);
  private readonly handleBatch = (n: number): void => this.forward(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  private forward(n: number): void {
    const { batch, codec } = this;
    const { routes, counters } = this.path;
    const { slab: buf, inOffsets, lengths, gsoSizes, segments, segmentBytes, outOffsets, outLengths, addrs, ports } = batch;
    const drops = counters.drops;
    const overhead = codec.overhead;
    let out = 0;
    let packets = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const start = inOffsets[i];
      const length = lengths[i];
      const hop = outboundHop(routes, buf, start, length, drops);
      if (hop === undefined) continue;
      codec.encap(buf, start, length, hop);
      const cut = segments[i];
      const cutBytes = segmentBytes[i];
      hop.counters.txPackets += cut;
      hop.counters.txBytes += cutBytes;
      outOffsets[out] = start - overhead;
      outLengths[out] = length + overhead;
      gsoSizes[out] = gsoSizes[i];
      segments[out] = cut;
      segmentBytes[out] = cutBytes;
      addrs[out] = hop.addr;
      ports[out] = hop.port;
      packets += cut;
      bytes += cutBytes;
      out++;
    }
    const sent = this.udp.sendCut(batch, out, overhead);
    if (sent !== out) {
      const went = countCut(batch, out);
      drops.udp_send += packets - went.packets;
      packets = went.packets;
      bytes = went.bytes;
    }
    counters.tx.packets += packets;
    counters.tx.bytes += bytes;
    counters.tx.batches++;
  }
}
