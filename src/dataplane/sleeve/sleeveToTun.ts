// The inbound sleeve path: recvmmsg batch in -> source check -> open (with a
// password) -> each framed packet checked and written to the TUN in place, or
// packed for the next hop when it is for another subnet (mesh relay).
import { ipTotalLength } from '../../net/ipPacket.js';
import type { PeerCounters } from '../counters.js';
import { drainRounds } from '../drainRounds.js';
import { PROBE_BYTES, PROBE_FIRST_BYTE } from '../probeDatagram.js';
import { endpointKey } from '../nextHop.js';
import { relayHop } from '../outboundHop.js';
import { PacketBatch } from '../packetBatch.js';
import type { PathState } from '../pathState.js';
import type { TunPort, UnderlayPort } from '../ports.js';
import type { TooBigReplies } from '../tooBigReplies.js';
import { setTunEntry, writeToTun } from '../tunDelivery.js';
import type { DatagramAssembler } from './datagramAssembler.js';
import { FRAME_PREFIX, KIND_PLAIN, PLAIN_HEADER } from './sleeveFormat.js';
import { Opener } from './sleeveSeal.js';

/** Packets handed to one TUN write call; a batch of datagrams can hold many more. */
const TUN_BATCH = 256;

export class SleeveToTun {
  private readonly batch: PacketBatch;
  /** Columns for the TUN writes, pointing into the receive slab. */
  private readonly toTun: PacketBatch;
  private pending = 0;
  private pendingBytes = 0;
  /** Sealed datagrams of this batch, opened together: where each ends, who sent it. */
  private readonly opener: Opener;
  private readonly ends: Uint32Array;
  private readonly froms: Uint32Array;
  private readonly senders: (PeerCounters | null)[];

  constructor(
    private readonly path: PathState,
    private readonly udp: UnderlayPort,
    private readonly tun: TunPort,
    private readonly relay: DatagramAssembler,
    private readonly tooBig: TooBigReplies,
    batchSize: number,
    /** The largest datagram a peer may send us: anything longer is an `oversize` drop. */
    private readonly maxDatagram: number,
  ) {
    this.batch = udp.receiveBatch(batchSize, maxDatagram);
    this.toTun = new PacketBatch(TUN_BATCH, 0, 0, this.batch.slab);
    const columns = this.batch.columns;
    this.opener = new Opener(columns);
    this.ends = new Uint32Array(columns);
    this.froms = new Uint32Array(columns);
    this.senders = new Array<PeerCounters | null>(columns).fill(null);
  }

  private readonly readBatch = (): number => this.udp.receive(this.batch);
  private readonly handleBatch = (n: number): void => this.deliver(n);
  readonly drain = (): void => drainRounds(this.readBatch, this.handleBatch, this.batch.size, this.path.counters.drops);

  private deliver(n: number): void {
    const { batch } = this;
    const { counters, peers, keys } = this.path;
    const { slab: buf, lengths, addrs, ports } = batch;
    const drops = counters.drops;
    const capacity = this.maxDatagram;
    for (let i = 0; i < n; i++) {
      const start = batch.offset(i);
      const length = lengths[i];
      if (length > capacity) {
        drops.oversize++;
        continue;
      }
      const from = addrs[i];
      if (length === PROBE_BYTES && buf[start] === PROBE_FIRST_BYTE) {
        // Before the source check: a probe is how a peer's new address becomes known.
        this.path.probes(buf, start, from, ports[i]);
        continue;
      }
      const peer = peers.get(from);
      if (peer === undefined) {
        drops.unknown_peer++;
        continue;
      }
      if (keys === null) {
        if (length < PLAIN_HEADER || buf.readUInt32BE(start) !== KIND_PLAIN << 24) {
          drops.bad_header++;
          continue;
        }
        this.unpack(buf, start + PLAIN_HEADER, start + length, from, peer);
        continue;
      }
      const crypto = keys.get(endpointKey(from, ports[i]));
      if (crypto === undefined) {
        drops.no_key++;
        continue;
      }
      const k = this.opener.add(buf, start, length, crypto, drops);
      if (k < 0) continue;
      this.ends[k] = start + length;
      this.froms[k] = from;
      this.senders[k] = peer;
      if (this.opener.full) this.openQueued(buf);
    }
    this.openQueued(buf);
    this.flushTun();
    this.relay.flush();
    this.tooBig.flush();
    counters.rx.batches++;
  }

  /** Opens the queued sealed datagrams in one call, then unpacks those that authenticated. */
  private openQueued(buf: Buffer): void {
    const { opener } = this;
    if (opener.count === 0) return;
    opener.run(buf);
    const drops = this.path.counters.drops;
    for (let k = 0; k < opener.count; k++) {
      if (opener.accept(k, drops)) this.unpack(buf, opener.textStarts[k], this.ends[k], this.froms[k], this.senders[k]!);
      this.senders[k] = null;
    }
    opener.reset();
  }

  /** Each frame: a 16-bit length and an IPv4 or IPv6 packet whose own total length fits it. */
  private unpack(buf: Buffer, at: number, end: number, from: number, peer: PeerCounters): void {
    const { counters, localSubnets, relayRoutes } = this.path;
    const drops = counters.drops;
    while (at < end) {
      if (end - at < FRAME_PREFIX + 20) {
        drops.bad_header++;
        return;
      }
      const frameLength = buf.readUInt16BE(at);
      const inner = at + FRAME_PREFIX;
      at = inner + frameLength;
      const total = at > end ? -1 : ipTotalLength(buf, inner, frameLength);
      if (total < 0) {
        drops.bad_header++;
        return;
      }
      peer.rxPackets++;
      peer.rxBytes += total;
      if (!localSubnets.holds(buf, inner)) {
        const hop = relayHop(relayRoutes, buf, inner, from);
        if (hop === undefined) {
          drops.not_local++;
        } else if (total > this.relay.packetMax) {
          this.tooBig.add(buf, inner, total, this.relay.packetMax);
        } else {
          this.relay.append(hop, buf, inner, total);
        }
        continue;
      }
      if (this.pending === TUN_BATCH) this.flushTun();
      setTunEntry(this.toTun, this.pending, buf, inner, total);
      this.pending++;
      this.pendingBytes += total;
    }
  }

  private flushTun(): void {
    if (this.pending === 0) return;
    // Sleeve datagrams come from sockets, with UDP checksums the kernel checked (or sealed).
    writeToTun(this.tun, this.toTun, this.pending, this.pendingBytes, this.path.counters, false);
    this.pending = 0;
    this.pendingBytes = 0;
  }
}
