// The outbound sleeve path: TUN batch in -> route lookup -> packets packed
// into one datagram per next hop (sealed with a password) -> sendmmsg out.
import { drainRounds } from '../drainRounds.js';
import { outboundHop } from '../outboundHop.js';
import { PacketBatch } from '../packetBatch.js';
import type { PathState } from '../pathState.js';
import type { TunPort } from '../ports.js';
import type { TooBigReplies } from '../tooBigReplies.js';
import type { DatagramAssembler } from './datagramAssembler.js';

export class TunToSleeve {
  private readonly batch: PacketBatch;

  constructor(
    private readonly path: PathState,
    private readonly tun: TunPort,
    private readonly assembler: DatagramAssembler,
    private readonly tooBig: TooBigReplies,
    batch: { size: number; slotSize: number },
  ) {
    this.batch = new PacketBatch(batch.size, batch.slotSize, 0);
  }

  private readonly readBatch = (): number => this.tun.read(this.batch, this.path.counters.drops);
  private readonly handleBatch = (n: number): void => this.forward(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

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
}
