// Packets too big for the path: dropped and counted, and an ICMP error
// written back into the TUN so the sender's kernel learns the path MTU (TCP
// then sends smaller segments): fragmentation-needed for IPv4 packets with DF
// set, packet-too-big for every IPv6 packet (IPv6 routers never fragment).
import type { DropCounters } from './counters.js';
import { PacketBatch } from './packetBatch.js';
import { dontFragment, fragmentationNeeded } from '../net/icmp.js';
import { packetTooBig } from '../net/icmpv6.js';
import type { TunPort } from './ports.js';

/** Replies per batch: a burst of big packets needs one answer, not one each. */
const MAX_REPLIES = 8;
/** Room for an IPv6 reply quoting the IPv6 and TCP headers with options. */
const REPLY_SLOT = 128;

export class TooBigReplies {
  private readonly replies = new PacketBatch(MAX_REPLIES, REPLY_SLOT, 0);
  private pending = 0;

  constructor(
    private readonly tun: TunPort,
    private readonly drops: DropCounters,
  ) {}

  /** The IP packet at buf[start, start + length) exceeds `mtu`. */
  add(buf: Buffer, start: number, length: number, mtu: number): void {
    this.drops.too_big++;
    const v6 = buf[start] >> 4 === 6;
    if ((!v6 && !dontFragment(buf, start)) || this.pending === MAX_REPLIES) return;
    const at = this.pending * REPLY_SLOT;
    const slot = this.replies.slab.subarray(at, at + REPLY_SLOT);
    this.replies.outOffsets[this.pending] = at;
    this.replies.outLengths[this.pending] = v6 ? packetTooBig(slot, REPLY_SLOT, buf, start, length, mtu) : fragmentationNeeded(slot, buf, start, length, mtu);
    this.pending++;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.tun.write(this.replies, this.pending, false);
    this.pending = 0;
  }
}
