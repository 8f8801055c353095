// The outbound packet path: TUN batch in -> route lookup -> header in place -> sendmmsg out.
import type { EncapCodec } from './codecs/codec.js';
import { drainRounds } from './drainRounds.js';
import { outboundHop } from './outboundHop.js';
import { countSent, PacketBatch } from './packetBatch.js';
import type { PathState } from './pathState.js';
import type { TunPort, UnderlayPort } from './ports.js';

export class TunToPeers {
  private readonly batch: PacketBatch;

  constructor(
    private readonly path: PathState,
    private readonly tun: TunPort,
    private readonly udp: UnderlayPort,
    private readonly codec: EncapCodec,
    batch: { size: number; slotSize: number; headroom: number },
  ) {
    this.batch = new PacketBatch(batch.size, batch.slotSize, batch.headroom);
  }

  private readonly readBatch = (): number => this.tun.read(this.batch, this.path.counters.drops);
  private readonly handleBatch = (n: number): void => this.forward(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  private forward(n: number): void {
    const { batch, codec } = this;
    const { routes, counters } = this.path;
    const { slab: buf, lengths, outOffsets, outLengths, addrs, ports } = batch;
    const drops = counters.drops;
    const overhead = codec.overhead;
    let out = 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const start = batch.offset(i);
      const length = lengths[i];
      const hop = outboundHop(routes, buf, start, length, drops);
      if (hop === undefined) continue;
      codec.encap(buf, start, length, hop);
      hop.counters.txPackets++;
      hop.counters.txBytes += length;
      outOffsets[out] = start - overhead;
      outLengths[out] = length + overhead;
      addrs[out] = hop.addr;
      ports[out] = hop.port;
      bytes += length;
      out++;
    }
    const sent = this.udp.send(batch, out);
    if (sent !== out) {
      drops.udp_send += out - sent;
      bytes = countSent(batch, out, overhead).bytes;
    }
    counters.tx.packets += sent;
    counters.tx.bytes += bytes;
    counters.tx.batches++;
  }
}
