// Inner IPv4 packets for tests: TCP or UDP, checksummed as a NIC would send
// them, or left unfinished as a kernel hands them over between veths.
import { internetChecksum } from '../../src/net/icmp.js';
import { parseIPv4 } from '../../src/net/ipv4.js';
import { parseIPv6 } from '../../src/net/ipv6.js';

export interface PacketOptions {
  proto?: 'tcp' | 'udp';
  /** The checksum field: complete (default), the pseudo-header sum only (as CHECKSUM_PARTIAL), or wrong. */
  checksum?: 'complete' | 'unfinished' | 'wrong';
  df?: boolean;
  /** IPv4 options bytes (a multiple of 4). */
  options?: Buffer;
  /** Fragment offset in 8-byte units, or the more-fragments flag. */
  fragment?: { offset: number; more: boolean };
  /** TCP: the sequence number (default 1000) and flags (default PSH ACK, which is never glued). */
  seq?: number;
  flags?: number;
}

/** The folded pseudo-header sum of the IPv4 packet p's L4 part. */
export function pseudoHeaderSum(p: Buffer): number {
  const ihl = (p[0] & 15) * 4;
  let sum = p.readUInt16BE(12) + p.readUInt16BE(14) + p.readUInt16BE(16) + p.readUInt16BE(18) + p[9] + (p.length - ihl);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Whether the L4 checksum of IPv4 packet p verifies (a UDP 0 means none). */
export function checksumValid(p: Buffer): boolean {
  const ihl = (p[0] & 15) * 4;
  const field = p[9] === 6 ? 16 : 6;
  if (p[9] === 17 && p.readUInt16BE(ihl + field) === 0) return true;
  const copy = Buffer.from(p.subarray(ihl));
  let sum = pseudoHeaderSum(p);
  sum += 0xffff - internetChecksum(copy, 0, copy.length); // the data's sum, field included
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

export function ipPacket(src: string, dst: string, payload: Buffer, o: PacketOptions = {}): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const ihl = 20 + opts.length;
  const tcp = (o.proto ?? 'tcp') === 'tcp';
  const l4 = tcp ? 20 : 8;
  const p = Buffer.alloc(ihl + l4 + payload.length);
  p[0] = 0x40 | (ihl / 4);
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE((o.df ? 0x4000 : 0) | (o.fragment?.more ? 0x2000 : 0) | (o.fragment?.offset ?? 0), 6);
  p[8] = 64;
  p[9] = tcp ? 6 : 17;
  p.writeUInt32BE(parseIPv4(src), 12);
  p.writeUInt32BE(parseIPv4(dst), 16);
  opts.copy(p, 20);
  p.writeUInt16BE(internetChecksum(p, 0, ihl), 10);
  p.writeUInt16BE(40000, ihl);
  p.writeUInt16BE(5001, ihl + 2);
  if (tcp) {
    p.writeUInt32BE(o.seq ?? 1000, ihl + 4);
    p[ihl + 12] = 0x50;
    p[ihl + 13] = o.flags ?? 0x18;
  } else {
    p.writeUInt16BE(8 + payload.length, ihl + 4);
  }
  payload.copy(p, ihl + l4);
  const field = ihl + (tcp ? 16 : 6);
  p.writeUInt16BE(pseudoHeaderSum(p), field);
  if ((o.checksum ?? 'complete') !== 'unfinished') {
    let c = internetChecksum(p, ihl, p.length);
    if (!tcp && c === 0) c = 0xffff;
    p.writeUInt16BE(o.checksum === 'wrong' ? c ^ 0x0101 : c, field);
  }
  return p;
}

/** The folded pseudo-header sum of the IPv6 packet p's upper-layer part (no extension headers). */
export function pseudoHeaderSum6(p: Buffer): number {
  let sum = p[6] + (p.length - 40);
  for (let i = 8; i < 40; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Whether the TCP, UDP or ICMPv6 checksum of IPv6 packet p verifies. */
export function checksumValid6(p: Buffer): boolean {
  let sum = pseudoHeaderSum6(p) + (0xffff - internetChecksum(p, 40, p.length));
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** An IPv6 packet from src to dst: TCP or UDP carrying `payload`, checksummed, left unfinished or wrong. */
export function ip6Packet(src: string, dst: string, payload: Buffer, o: Pick<PacketOptions, 'proto' | 'checksum'> = {}): Buffer {
  const tcp = (o.proto ?? 'tcp') === 'tcp';
  const l4 = tcp ? 20 : 8;
  const p = Buffer.alloc(40 + l4 + payload.length);
  p.writeUInt32BE(0x60000000, 0);
  p.writeUInt16BE(l4 + payload.length, 4);
  p[6] = tcp ? 6 : 17;
  p[7] = 64;
  parseIPv6(src).copy(p, 8);
  parseIPv6(dst).copy(p, 24);
  p.writeUInt16BE(40000, 40);
  p.writeUInt16BE(5001, 42);
  if (tcp) {
    p.writeUInt32BE(1000, 44);
    p[52] = 0x50;
    p[53] = 0x18;
  } else {
    p.writeUInt16BE(8 + payload.length, 44);
  }
  payload.copy(p, 40 + l4);
  const field = 40 + (tcp ? 16 : 6);
  p.writeUInt16BE(pseudoHeaderSum6(p), field);
  if ((o.checksum ?? 'complete') !== 'unfinished') {
    let c = internetChecksum(p, 40, p.length);
    if (!tcp && c === 0) c = 0xffff;
    p.writeUInt16BE(o.checksum === 'wrong' ? c ^ 0x0101 : c, field);
  }
  return p;
}
