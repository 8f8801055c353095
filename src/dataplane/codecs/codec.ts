// One interface for every encapsulation: a header written in place before the
// inner packet on the way out, checked and skipped on the way in.
import type { DropCounters } from '../counters.js';
import type { HopAddress } from '../nextHop.js';

export interface EncapCodec {
  readonly name: string;
  /** Bytes this codec puts in front of the inner IP packet. */
  readonly overhead: number;
  /**
   * Peers of this format may be a kernel or any RFC 7348 VTEP (VXLAN). Over a
   * veth, a kernel sends its TCP super-packets whole, in one datagram of up to
   * 64 KiB; and a VTEP may send the UDP checksum as zero (RFC 7348: SHOULD), so
   * the inner checksums are checked before segments are glued for the TUN.
   */
  readonly kernelPeers: boolean;
  /**
   * Writes the header into buf[start - overhead, start) for the IP packet at
   * buf[start, start + length). The caller guarantees the headroom.
   */
  encap(buf: Buffer, start: number, length: number, hop: HopAddress): void;
  /**
   * Checks the datagram at buf[start, start + length) and returns the offset
   * of the inner IP packet, or -1 after counting the reason in `drops`.
   */
  decap(buf: Buffer, start: number, length: number, drops: DropCounters): number;
}
