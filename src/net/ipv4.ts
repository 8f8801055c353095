// IPv4 addresses as unsigned 32-bit numbers, and CIDR blocks. No I/O.
import { UserError } from '../errors.js';

export interface Cidr {
  readonly addr: number; // network address, host bits zero
  readonly len: number;
  readonly mask: number;
}

export class AddressError extends UserError {}

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new AddressError(`not an IPv4 address: ${JSON.stringify(text)}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new AddressError(`not an IPv4 address: ${JSON.stringify(text)}`);
    value = value * 256 + Number(part);
  }
  return value >>> 0;
}

/** Whether `text` is a dotted IPv4 address parseIPv4 takes (for checking what a peer sent, without a throw). */
export function isIPv4(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

export function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Parses "a.b.c.d/len"; host bits must be zero, as in flannel's configuration. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError(`not a CIDR (missing /len): ${JSON.stringify(text)}`);
  const addr = parseIPv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) throw new AddressError(`bad prefix length in ${JSON.stringify(text)}`);
  const len = Number(lenText);
  const mask = maskOf(len);
  if (((addr & mask) >>> 0) !== addr) throw new AddressError(`${text} has host bits set (did you mean ${formatIPv4((addr & mask) >>> 0)}/${len}?)`);
  return { addr, len, mask };
}

/** Whether `text` is a CIDR parseCidr takes (for what a peer sent). */
export function isCidr(text: unknown): text is string {
  try {
    return typeof text === 'string' && parseCidr(text) !== null;
  } catch {
    return false;
  }
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.addr)}/${cidr.len}`;
}

export function cidrContains(outer: Cidr, addr: number): boolean {
  return ((addr & outer.mask) >>> 0) === outer.addr;
}

export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return inner.len >= outer.len && cidrContains(outer, inner.addr);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.len <= b.len ? cidrContains(a, b.addr) : cidrContains(b, a.addr);
}

/** The n-th address of the block (0 = network address). */
export function cidrHost(cidr: Cidr, n: number): number {
  return (cidr.addr + n) >>> 0;
}

/** The subnet's first host with the subnet's length (10.1.2.1/24): the bridge's, docker's --bip. */
export function gatewayCidr(subnet: Cidr): string {
  return `${formatIPv4(cidrHost(subnet, 1))}/${subnet.len}`;
}
