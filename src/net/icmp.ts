// ICMP "fragmentation needed" (RFC 792 type 3 code 4, RFC 1191 next-hop MTU),
// the answer a router owes the sender of a DF packet too big for the path.

const ICMP_HEADER = 8;
const IP_HEADER = 20;

/** RFC 1071 ones'-complement sum over buf[start, end). */
export function internetChecksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) & 1) sum += buf[end - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Writes into out[0, …) an IPv4 packet carrying the ICMP error for the packet
 * at pkt[start, start + length); returns its length. It comes from the
 * packet's destination, so the kernel takes it as arriving from the overlay.
 */
export function fragmentationNeeded(out: Buffer, pkt: Buffer, start: number, length: number, mtu: number): number {
  const headerLength = (pkt[start] & 15) << 2;
  const quoted = Math.min(length, headerLength + 8);
  const total = IP_HEADER + ICMP_HEADER + quoted;
  out.fill(0, 0, IP_HEADER + ICMP_HEADER);
  out[0] = 0x45;
  out.writeUInt16BE(total, 2);
  out[6] = 0x40; // DF
  out[8] = 64; // TTL
  out[9] = 1; // ICMP
  pkt.copy(out, 12, start + 16, start + 20); // source: the packet's destination
  pkt.copy(out, 16, start + 12, start + 16); // destination: its sender
  out.writeUInt16BE(internetChecksum(out, 0, IP_HEADER), 10);
  out[IP_HEADER] = 3;
  out[IP_HEADER + 1] = 4;
  out.writeUInt16BE(mtu, IP_HEADER + 6);
  pkt.copy(out, IP_HEADER + ICMP_HEADER, start, start + quoted);
  out.writeUInt16BE(internetChecksum(out, IP_HEADER, total), IP_HEADER + 2);
  return total;
}

/** True when the IPv4 packet at buf[start] has Don't Fragment set. */
export function dontFragment(buf: Buffer, start: number): boolean {
  return (buf[start + 6] & 0x40) !== 0;
}
