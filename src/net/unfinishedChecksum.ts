// TCP and UDP checksums a peer's kernel left unfinished. Between namespaces
// (veth) the kernel hands a packet over with CHECKSUM_PARTIAL: the checksum
// field holds only the folded pseudo-header sum, not inverted, and "hardware"
// is to finish it. A kernel VXLAN device set up as flannel.1 sends its inner
// packets that way; another kernel accepts them, so must we. Telling one costs
// a pseudo-header sum (a few words), never a pass over the payload.

import { IPV6_HEADER } from './ipPacket.js';

export const TCP_CHECKSUM_AT = 16;
export const UDP_CHECKSUM_AT = 6;

/** Where the L4 header of the sane IP packet at buf[at] starts, from `at`: the IPv4 header length, or IPv6's fixed 40. */
export function l4Start(buf: Buffer, at: number): number {
  return buf[at] >> 4 === 4 ? (buf[at] & 15) << 2 : IPV6_HEADER;
}

/**
 * For the sane IPv4 or IPv6 packet at buf[at, at + total): the offset of its
 * L4 checksum field from the L4 header when that field holds the
 * pseudo-header sum (finish it from the L4 header on), else 0 — a complete
 * checksum, a wrong one (left for the kernel to drop), a fragment, another
 * protocol, an IPv6 packet with extension headers before its TCP or UDP.
 */
export function unfinishedChecksum(buf: Buffer, at: number, total: number): number {
  if (buf[at] >> 4 === 6) return unfinishedChecksum6(buf, at, total);
  const proto = buf[at + 9];
  if (proto !== 6 && proto !== 17) return 0;
  if (((buf[at + 6] & 0x3f) | buf[at + 7]) !== 0) return 0; // a fragment: its checksum covers the whole datagram
  const ihl = (buf[at] & 15) << 2;
  const field = proto === 6 ? TCP_CHECKSUM_AT : UDP_CHECKSUM_AT;
  const c = at + ihl + field;
  if (ihl + field + 2 > total) return 0;
  // Byte reads, not readUInt16BE: this runs for every packet received.
  let sum = ((buf[at + 12] + buf[at + 14] + buf[at + 16] + buf[at + 18]) << 8) + buf[at + 13] + buf[at + 15] + buf[at + 17] + buf[at + 19] + proto + total - ihl;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ((buf[c] << 8) | buf[c + 1]) === sum ? field : 0;
}

function unfinishedChecksum6(buf: Buffer, at: number, total: number): number {
  const proto = buf[at + 6];
  if (proto !== 6 && proto !== 17) return 0;
  const field = proto === 6 ? TCP_CHECKSUM_AT : UDP_CHECKSUM_AT;
  const c = at + IPV6_HEADER + field;
  if (IPV6_HEADER + field + 2 > total) return 0;
  let high = 0;
  let low = 0;
  for (let i = at + 8; i < at + IPV6_HEADER; i += 2) {
    high += buf[i];
    low += buf[i + 1];
  }
  let sum = (high << 8) + low + proto + total - IPV6_HEADER;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ((buf[c] << 8) | buf[c + 1]) === sum ? field : 0;
}
