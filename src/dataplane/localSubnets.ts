// This host's subnets, as the receive paths test a packet's destination
// against them: received packets for them go to the TUN.
import type { Cidr } from '../net/ipv4.js';
import { type Cidr6, maskWords6 } from '../net/ipv6Cidr.js';

export class LocalSubnets {
  private readonly addr: number;
  private readonly mask: number;
  private readonly words6: Uint32Array | null;
  private readonly mask6: Uint32Array;

  constructor(
    readonly v4: Cidr,
    readonly v6: Cidr6 | null,
  ) {
    this.addr = v4.addr;
    this.mask = v4.mask;
    this.words6 = v6 === null ? null : v6.words;
    this.mask6 = maskWords6(v6 === null ? 0 : v6.len);
  }

  /** Whether the IP packet at buf[at] (its header checked) is for one of our subnets. */
  holds(buf: Buffer, at: number): boolean {
    if (buf[at] >> 4 === 4) return ((buf.readUInt32BE(at + 16) & this.mask) >>> 0) === this.addr;
    const w = this.words6;
    if (w === null) return false;
    const m = this.mask6;
    return (
      ((buf.readUInt32BE(at + 24) & m[0]) >>> 0) === w[0] &&
      ((buf.readUInt32BE(at + 28) & m[1]) >>> 0) === w[1] &&
      ((buf.readUInt32BE(at + 32) & m[2]) >>> 0) === w[2] &&
      ((buf.readUInt32BE(at + 36) & m[3]) >>> 0) === w[3]
    );
  }
}
