// Host blocks on top of the ring: which block a peer uses, and what it can give away.
import { type Cidr, maskOf } from '../net/ipv4.js';
import { type Cidr6, cidr6OfValue, ipv6Value } from '../net/ipv6Cidr.js';
import type { Range, Ring } from './ring.js';

export interface BlockSpace {
  range: Cidr;
  blockLen: number;
}

/**
 * The IPv6 blocks of a dual-stack mesh: block n of the IPv4 space goes with
 * block n of this one, so the blocks agreed over the mesh give both.
 */
export interface BlockSpace6 {
  range: Cidr6;
  blockLen: number;
}

export function blockCidr6(space: BlockSpace6, block: number): Cidr6 {
  return cidr6OfValue(ipv6Value(space.range.words) + (BigInt(block) << BigInt(128 - space.blockLen)), space.blockLen);
}

export function blockCount(space: BlockSpace): number {
  return 2 ** (space.blockLen - space.range.len);
}

export function blockCidr(space: BlockSpace, block: number): Cidr {
  return { addr: (space.range.addr + block * 2 ** (32 - space.blockLen)) >>> 0, len: space.blockLen, mask: maskOf(space.blockLen) };
}

export function blockOf(space: BlockSpace, cidr: Cidr): number | null {
  if (cidr.len !== space.blockLen || ((cidr.addr & space.range.mask) >>> 0) !== space.range.addr) return null;
  return (cidr.addr - space.range.addr) / 2 ** (32 - space.blockLen);
}

/** The ranges `owner` holds, less the block it uses itself. */
export function freeRanges(ring: Ring, owner: string, used: number | null): Range[] {
  const out: Range[] = [];
  for (const r of ring.rangesOf(owner)) {
    if (used !== null && used >= r.start && used < r.end) {
      if (used > r.start) out.push({ start: r.start, end: used });
      if (used + 1 < r.end) out.push({ start: used + 1, end: r.end });
    } else {
      out.push(r);
    }
  }
  return out;
}

export function freeCount(ring: Ring, owner: string, used: number | null): number {
  return freeRanges(ring, owner, used).reduce((n, r) => n + r.end - r.start, 0);
}

/** What `owner` gives a peer that asks: the upper half of its largest free range (at least one block). */
export function donation(ring: Ring, owner: string, used: number | null): Range | null {
  let best: Range | null = null;
  for (const r of freeRanges(ring, owner, used)) if (!best || r.end - r.start > best.end - best.start) best = r;
  if (!best) return null;
  const size = best.end - best.start;
  return { start: best.start + Math.floor(size / 2), end: best.end };
}
