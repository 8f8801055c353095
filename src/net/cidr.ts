// A prefix of either family, for the places that hold both (routes, status,
// flags); each family's arithmetic stays in ipv4.ts and ipv6Cidr.ts.
import { AddressError, type Cidr, cidrCovers, cidrOverlaps, formatCidr, parseCidr } from './ipv4.js';
import { type Cidr6, cidr6Covers, cidr6Overlaps, formatCidr6, parseCidr6 } from './ipv6Cidr.js';

export type AnyCidr = Cidr | Cidr6;

export function isCidr6Value(c: AnyCidr): c is Cidr6 {
  return 'words' in c;
}

export function parseAnyCidr(text: string): AnyCidr {
  if (text.includes(':')) return parseCidr6(text);
  if (text.includes('.')) return parseCidr(text);
  throw new AddressError(`not a CIDR: ${JSON.stringify(text)}`);
}

export function formatAnyCidr(c: AnyCidr): string {
  return isCidr6Value(c) ? formatCidr6(c) : formatCidr(c);
}

/** Prefixes of different families never overlap. */
export function anyCidrOverlaps(a: AnyCidr, b: AnyCidr): boolean {
  if (isCidr6Value(a)) return isCidr6Value(b) && cidr6Overlaps(a, b);
  return !isCidr6Value(b) && cidrOverlaps(a, b);
}

export function anyCidrCovers(outer: AnyCidr, inner: AnyCidr): boolean {
  if (isCidr6Value(outer)) return isCidr6Value(inner) && cidr6Covers(outer, inner);
  return !isCidr6Value(inner) && cidrCovers(outer, inner);
}
