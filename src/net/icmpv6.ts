// ICMPv6 "packet too big" (RFC 4443 type 2), the answer a router owes the
// sender of an IPv6 packet too big for the next link: IPv6 routers never
// fragment, so every oversize packet gets one.
import { internetChecksum } from './icmp.js';
import { IPV6_HEADER } from './ipPacket.js';
const ICMP_HEADER = 8;
const ICMPV6 = 58;

/**
 * Writes into out[0, …) an IPv6 packet carrying packet-too-big for the packet
 * at pkt[start, start + length), quoting as much of it as `room` allows;
 * returns its length. It comes from the packet's destination, so the kernel
 * takes it as arriving from the overlay.
 */
export function packetTooBig(out: Buffer, room: number, pkt: Buffer, start: number, length: number, mtu: number): number {
  const quoted = Math.min(length, room - IPV6_HEADER - ICMP_HEADER);
  const payload = ICMP_HEADER + quoted;
  out.fill(0, 0, IPV6_HEADER + ICMP_HEADER);
  out[0] = 0x60;
  out.writeUInt16BE(payload, 4);
  out[6] = ICMPV6;
  out[7] = 64; // hop limit
  pkt.copy(out, 8, start + 24, start + 40); // source: the packet's destination
  pkt.copy(out, 24, start + 8, start + 24); // destination: its sender
  out[IPV6_HEADER] = 2;
  out.writeUInt32BE(mtu, IPV6_HEADER + 4);
  pkt.copy(out, IPV6_HEADER + ICMP_HEADER, start, start + quoted);
  // The checksum covers a pseudo-header (addresses, length, next header) and the message.
  const pseudo = Buffer.alloc(40);
  out.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(payload, 32);
  pseudo[39] = ICMPV6;
  const sum = (~internetChecksum(pseudo, 0, 40) & 0xffff) + (~internetChecksum(out, IPV6_HEADER, IPV6_HEADER + payload) & 0xffff);
  out.writeUInt16BE(~((sum & 0xffff) + (sum >>> 16)) & 0xffff, IPV6_HEADER + 2);
  return IPV6_HEADER + payload;
}
