// The outbound sleeve path: TUN batch in -> route lookup -> packets packed
// into one datagram per next hop (sealed with a password) -> sendmmsg out.
import type { DataplaneCounters } from '../counters.js';
import type { NextHop } from '../nextHop.js';
import { PacketBatch } from '../packetBatch.js';
import type { RouteTable } from '../routeTable.js';
import type { TooBigReplies } from '../tooBigReplies.js';
import type { TunDevice } from '../tunDevice.js';
import type { DatagramAssembler } from './datagramAssembler.js';
import { drainRounds } from '../drainRounds.js';
import { outboundHop } from '../outboundHop.js';


export class TunToSleeve {
  private readonly batch: PacketBatch;

  constructor(
    private readonly tun: TunDevice,
    private readonly assembler: DatagramAssembler,
    private readonly tooBig: TooBigReplies,
    private readonly routes: RouteTable<NextHop>,
    private readonly counters: DataplaneCounters,
    batchSize: number,
    slotSize: number,
  ) {
    this.batch = new PacketBatch(batchSize, slotSize, 0);
  }

  private readonly readBatch = (): number => this.tun.read(this.batch);
  private readonly handleBatch = (n: number): void => this.forward(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.counters.drops);

  private forward(n: number): void {
    const { batch, assembler, routes } = this;
    const { slab: buf, lengths } = batch;
    const drops = this.counters.drops;
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
}
