// RFC 7348 VXLAN, as the Linux kernel and flannel's `vxlan` backend put it on
// the wire:
//
//   0        1        2        3
//   flags=08 reserved (3 bytes, zero)
//   VNI (3 bytes)              reserved
//   inner Ethernet: dst MAC (6) src MAC (6) ethertype (2)
//   inner IP packet
import type { DropCounters } from '../counters.js';
import type { HopAddress } from '../nextHop.js';
import type { EncapCodec } from './codec.js';

export const VXLAN_DEFAULT_PORT = 8472;
export const VXLAN_DEFAULT_VNI = 1;

const VXLAN_HEADER = 8;
const ETHERNET_HEADER = 14;
const FLAG_VNI_VALID = 0x08;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

export interface VxlanHeader {
  vni: number;
  dstMac: Buffer;
  srcMac: Buffer;
  etherType: number;
}

export class VxlanCodec implements EncapCodec {
  readonly name = 'vxlan';
  readonly overhead = VXLAN_HEADER + ETHERNET_HEADER;
  readonly kernelPeers = true;
  /** Bytes 4..7 of the header: VNI << 8, reserved byte zero. */
  private readonly vniWord: number;

  constructor(
    readonly vni: number,
    private readonly localMac: Buffer,
  ) {
    if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new RangeError(`VNI out of range: ${vni}`);
    this.vniWord = (vni << 8) >>> 0;
  }

  encap(buf: Buffer, start: number, _length: number, hop: HopAddress): void {
    const h = start - this.overhead;
    buf.writeUInt32BE(FLAG_VNI_VALID << 24, h);
    buf.writeUInt32BE(this.vniWord, h + 4);
    hop.vtepMac!.copy(buf, h + 8);
    this.localMac.copy(buf, h + 14);
    buf.writeUInt16BE((buf[start] >> 4) === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, h + 20);
  }

  decap(buf: Buffer, start: number, length: number, drops: DropCounters): number {
    if (length < this.overhead + 20 || (buf[start] & FLAG_VNI_VALID) === 0) {
      drops.bad_header++;
      return -1;
    }
    if ((buf.readUInt32BE(start + 4) & 0xffffff00) >>> 0 !== this.vniWord) {
      drops.wrong_vni++;
      return -1;
    }
    const mac = this.localMac;
    const d = start + 8;
    if (buf[d] !== mac[0] || buf[d + 1] !== mac[1] || buf[d + 2] !== mac[2] ||
        buf[d + 3] !== mac[3] || buf[d + 4] !== mac[4] || buf[d + 5] !== mac[5]) {
      drops.wrong_mac++;
      return -1;
    }
    const etherType = buf.readUInt16BE(start + 20);
    if (etherType !== ETHERTYPE_IPV4 && etherType !== ETHERTYPE_IPV6) {
      drops.bad_header++;
      return -1;
    }
    return start + this.overhead;
  }
}

/** Builds a datagram; for tests and tools, not the packet path. */
export function encodeVxlan(header: VxlanHeader, inner: Buffer): Buffer {
  const out = Buffer.alloc(VXLAN_HEADER + ETHERNET_HEADER + inner.length);
  out[0] = FLAG_VNI_VALID;
  out.writeUInt32BE((header.vni << 8) >>> 0, 4);
  header.dstMac.copy(out, 8);
  header.srcMac.copy(out, 14);
  out.writeUInt16BE(header.etherType, 20);
  inner.copy(out, 22);
  return out;
}

/** Parses a datagram's headers; for tests and tools. Throws on malformed input. */
export function decodeVxlan(datagram: Buffer): { header: VxlanHeader; inner: Buffer } {
  if (datagram.length < VXLAN_HEADER + ETHERNET_HEADER) throw new RangeError('VXLAN datagram too short');
  if ((datagram[0] & FLAG_VNI_VALID) === 0) throw new RangeError('VXLAN I flag not set');
  return {
    header: {
      vni: datagram.readUInt32BE(4) >>> 8,
      dstMac: datagram.subarray(8, 14),
      srcMac: datagram.subarray(14, 20),
      etherType: datagram.readUInt16BE(20),
    },
    inner: datagram.subarray(22),
  };
}
