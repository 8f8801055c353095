// The inbound packet path: recvmmsg batch in -> source and header checks -> TUN batch out.
import { ipv4TotalLength } from '../net/ipv4Packet.js';
import type { EncapCodec } from './codecs/codec.js';
import { drainRounds } from './drainRounds.js';
import { relayHop } from './outboundHop.js';
import { countSent, type PacketBatch } from './packetBatch.js';
import type { PathState } from './pathState.js';
import type { TunPort, UnderlayPort } from './ports.js';

export class PeersToTun {
  private readonly batch: PacketBatch;
  /** Packets passing through to another peer: same slab, their own columns. */
  private readonly relayed: PacketBatch;

  constructor(
    private readonly path: PathState,
    private readonly udp: UnderlayPort,
    private readonly tun: TunPort,
    private readonly codec: EncapCodec,
    batchSize: number,
    /** The largest datagram a peer may send us: anything longer is an `oversize` drop. */
    private readonly maxDatagram: number,
  ) {
    this.batch = udp.receiveBatch(batchSize, maxDatagram);
    this.relayed = this.batch.sharingSlab();
  }

  private readonly readBatch = (): number => this.udp.receive(this.batch);
  private readonly handleBatch = (n: number): void => this.deliver(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  private deliver(n: number): void {
    const { batch, codec, relayed } = this;
    const { counters, peers, localSubnet, relayRoutes } = this.path;
    const { slab: buf, lengths, addrs, outOffsets, outLengths } = batch;
    const drops = counters.drops;
    const capacity = this.maxDatagram;
    const subnetAddr = localSubnet.addr;
    const subnetMask = localSubnet.mask;
    let out = 0;
    let bytes = 0;
    let relays = 0;
    for (let i = 0; i < n; i++) {
      const start = batch.offset(i);
      const length = lengths[i];
      if (length > capacity) {
        drops.oversize++;
        continue;
      }
      const peer = peers.get(addrs[i]);
      if (peer === undefined) {
        drops.unknown_peer++;
        continue;
      }
      const inner = codec.decap(buf, start, length, drops);
      if (inner < 0) continue;
      const total = ipv4TotalLength(buf, inner, length - (inner - start));
      if (total < 0) {
        drops.bad_header++;
        continue;
      }
      peer.rxPackets++;
      peer.rxBytes += total;
      const dst = buf.readUInt32BE(inner + 16);
      if (((dst & subnetMask) >>> 0) !== subnetAddr) {
        // Not ours: pass it on towards its subnet (the new header fits where the old one was).
        const hop = relayHop(relayRoutes, dst, addrs[i]);
        if (hop === undefined) {
          drops.not_local++;
          continue;
        }
        codec.encap(buf, inner, total, hop);
        relayed.outOffsets[relays] = inner - codec.overhead;
        relayed.outLengths[relays] = total + codec.overhead;
        relayed.addrs[relays] = hop.addr;
        relayed.ports[relays] = hop.port;
        relays++;
        continue;
      }
      outOffsets[out] = inner;
      outLengths[out] = total;
      bytes += total;
      out++;
    }
    if (relays > 0) {
      const sent = this.udp.send(relayed, relays);
      drops.udp_send += relays - sent;
      counters.relayed += sent;
    }
    const written = this.tun.write(batch, out);
    if (written !== out) {
      drops.tun_write += out - written;
      bytes = countSent(batch, out).bytes;
    }
    counters.rx.packets += written;
    counters.rx.bytes += bytes;
    counters.rx.batches++;
  }
}
