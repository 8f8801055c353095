// The outbound packet path: TUN batch in -> route lookup -> header in place -> sendmmsg out.
import type { EncapCodec } from './codecs/codec.js';
import type { DataplaneCounters } from './counters.js';
import type { NextHop } from './nextHop.js';
import { PacketBatch, sumLengths } from './packetBatch.js';
import type { RouteTable } from './routeTable.js';
import type { TunDevice } from './tunDevice.js';
import type { UdpEndpoint } from './udpEndpoint.js';
import { drainRounds } from './drainRounds.js';
import { outboundHop } from './outboundHop.js';


export class TunToPeers {
  private readonly batch: PacketBatch;

  constructor(
    private readonly tun: TunDevice,
    private readonly udp: UdpEndpoint,
    private readonly codec: EncapCodec,
    private readonly routes: RouteTable<NextHop>,
    private readonly counters: DataplaneCounters,
    batchSize: number,
    slotSize: number,
    headroom: number,
  ) {
    this.batch = new PacketBatch(batchSize, slotSize, headroom);
  }

  private readonly readBatch = (): number => this.tun.read(this.batch);
  private readonly handleBatch = (n: number): void => this.forward(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.counters.drops);

  private forward(n: number): void {
    const { batch, codec, routes, counters } = this;
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
    drops.udp_send += out - sent;
    counters.tx.packets += sent;
    counters.tx.bytes += sent === out ? bytes : sumLengths(outLengths, sent) - overhead * sent;
    counters.tx.batches++;
  }
}
