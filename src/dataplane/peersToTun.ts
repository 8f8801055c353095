// The inbound packet path: recvmmsg batch in -> source and header checks -> TUN batch out.
import { ipTotalLength } from '../net/ipPacket.js';
import { l4Start, TCP_CHECKSUM_AT } from '../net/unfinishedChecksum.js';
import type { EncapCodec } from './codecs/codec.js';
import { drainRounds } from './drainRounds.js';
import { PROBE_BYTES, PROBE_FIRST_BYTE } from './probeDatagram.js';
import { relayHop } from './outboundHop.js';
import type { PacketBatch } from './packetBatch.js';
import type { PathState } from './pathState.js';
import type { TunPort, UnderlayPort } from './ports.js';
import { setTunEntry, writeToTun } from './tunDelivery.js';

/** Room for the largest UDP payload over IPv4 (65,507 bytes), slots kept on cache lines. */
const SUPER_DATAGRAM = 65536;

export class PeersToTun {
  private readonly batch: PacketBatch;
  /** Packets passing through to another peer: same slab, their own columns. */
  private readonly relayed: PacketBatch;

  constructor(
    private readonly path: PathState,
    private readonly udp: UnderlayPort,
    private readonly tun: TunPort,
    private readonly codec: EncapCodec,
    sizes: {
      batch: number;
      /** The largest datagram a peer's MTU lets it send: anything longer is an `oversize` drop, or a kernel's super-packet. */
      maxDatagram: number;
      /** This host's TUN MTU: what a super-packet is cut to. */
      mtu: number;
    },
  ) {
    this.maxDatagram = sizes.maxDatagram;
    this.mtu = sizes.mtu;
    // A kernel peer's super-packets need room for a whole UDP datagram.
    this.batch = udp.receiveBatch(sizes.batch, codec.kernelPeers ? SUPER_DATAGRAM : sizes.maxDatagram);
    this.relayed = this.batch.sharingSlab();
  }

  private readonly maxDatagram: number;
  private readonly mtu: number;

  private readonly readBatch = (): number => this.udp.receive(this.batch);
  private readonly handleBatch = (n: number): void => this.deliver(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  private deliver(n: number): void {
    const { batch, codec, relayed } = this;
    const { counters, peers, localSubnets, relayRoutes } = this.path;
    const { slab: buf, lengths, addrs, ports } = batch;
    const drops = counters.drops;
    const capacity = this.maxDatagram;
    let out = 0;
    let bytes = 0;
    let relays = 0;
    for (let i = 0; i < n; i++) {
      const start = batch.offset(i);
      const length = lengths[i];
      if (length > capacity) {
        const total = this.superPacket(buf, start, length, addrs[i], out);
        if (total > 0) {
          bytes += total;
          out++;
        }
        continue;
      }
      if (length === PROBE_BYTES && buf[start] === PROBE_FIRST_BYTE) {
        // Before the source check: a probe is how a peer's new address becomes known.
        this.path.probes(buf, start, addrs[i], ports[i]);
        continue;
      }
      const peer = peers.get(addrs[i]);
      if (peer === undefined) {
        drops.unknown_peer++;
        continue;
      }
      const inner = codec.decap(buf, start, length, drops);
      if (inner < 0) continue;
      const total = ipTotalLength(buf, inner, length - (inner - start));
      if (total < 0) {
        drops.bad_header++;
        continue;
      }
      peer.rxPackets++;
      peer.rxBytes += total;
      if (!localSubnets.holds(buf, inner)) {
        // Not ours: pass it on towards its subnet (the new header fits where the old one was).
        const hop = relayHop(relayRoutes, buf, inner, addrs[i]);
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
      setTunEntry(batch, out, buf, inner, total);
      bytes += total;
      out++;
    }
    if (relays > 0) {
      const sent = this.udp.send(relayed, relays);
      drops.udp_send += relays - sent;
      counters.relayed += sent;
    }
    writeToTun(this.tun, batch, out, bytes, counters, this.codec.kernelPeers);
    counters.rx.batches++;
  }

  /**
   * A datagram longer than a peer's MTU allows. Over a veth, a kernel VXLAN
   * peer sends its TCP super-packets whole, checksum unfinished, as its NIC
   * would have cut them: taken as entry `out`, for the TUN to cut to our MTU.
   * Returns the inner bytes taken, or 0 after counting why not.
   */
  private superPacket(buf: Buffer, start: number, length: number, from: number, out: number): number {
    const { batch, codec } = this;
    const { peers, localSubnets, counters } = this.path;
    const drops = counters.drops;
    if (!codec.kernelPeers || length > batch.slotSize) {
      drops.oversize++;
      return 0;
    }
    const peer = peers.get(from);
    if (peer === undefined) {
      drops.unknown_peer++;
      return 0;
    }
    const inner = codec.decap(buf, start, length, drops);
    if (inner < 0) return 0;
    const total = ipTotalLength(buf, inner, length - (inner - start));
    const local = total >= 0 && localSubnets.holds(buf, inner);
    // Only a TCP packet with its checksum unfinished is one; the entry is overwritten if it is not.
    if (local) setTunEntry(batch, out, buf, inner, total);
    if (!local || batch.csumOffsets[out] !== TCP_CHECKSUM_AT) {
      drops.oversize++;
      return 0;
    }
    const ihl = l4Start(buf, inner);
    const thl = (buf[inner + ihl + 12] >> 4) << 2;
    peer.rxPackets++;
    peer.rxBytes += total;
    batch.gsoSizes[out] = this.mtu - ihl - thl;
    return total;
  }
}
