// IPv6 prefixes as four 32-bit words (network order, host bits zero): the
// form the packet path compares against the words of a packet's address
// without building anything per packet. No I/O.
import { AddressError } from './ipv4.js';
import { formatIPv6, parseIPv6 } from './ipv6.js';

export interface Cidr6 {
  readonly family: 6;
  /** The network address, host bits zero. */
  readonly words: Uint32Array;
  readonly len: number;
}

/** The IPv6 side of a dual-stack host: the network and this host's subnet in it. */
export interface Stack6 {
  readonly network: Cidr6;
  readonly subnet: Cidr6;
}

/** The four mask words of a prefix length. */
export function maskWords6(len: number): Uint32Array {
  const m = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.min(32, Math.max(0, len - 32 * i));
    m[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return m;
}

export function wordsOf(bytes: Uint8Array, at = 0): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((bytes[at + 4 * i] << 24) | (bytes[at + 4 * i + 1] << 16) | (bytes[at + 4 * i + 2] << 8) | bytes[at + 4 * i + 3]) >>> 0;
  return w;
}

export function bytesOf(words: Uint32Array): Buffer {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) b.writeUInt32BE(words[i], 4 * i);
  return b;
}

/** An IPv6 address as a number, for subnet arithmetic off the packet path. */
export function ipv6Value(words: Uint32Array): bigint {
  let v = 0n;
  for (const w of words) v = (v << 32n) | BigInt(w);
  return v;
}

/** The prefix of length `len` whose address is the number `value`. */
export function cidr6OfValue(value: bigint, len: number): Cidr6 {
  const words = new Uint32Array(4);
  for (let i = 3, v = value; i >= 0; i--, v >>= 32n) words[i] = Number(v & 0xffffffffn);
  return { family: 6, words, len };
}

/** The words of the network `len` bits long that holds the address `words`. */
export function networkWords6(words: Uint32Array, len: number): Uint32Array {
  const mask = maskWords6(len);
  return words.map((w, i) => (w & mask[i]) >>> 0);
}

/** Parses "fd00:1::/64"; host bits must be zero, as for IPv4 CIDRs. */
export function parseCidr6(text: string): Cidr6 {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError(`not a CIDR (missing /len): ${JSON.stringify(text)}`);
  const words = wordsOf(parseIPv6(text.slice(0, slash)));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > 128) throw new AddressError(`bad prefix length in ${JSON.stringify(text)}`);
  const len = Number(lenText);
  const network = networkWords6(words, len);
  if (network.some((w, i) => w !== words[i])) throw new AddressError(`${text} has host bits set (did you mean ${formatIPv6(bytesOf(network))}/${len}?)`);
  return { family: 6, words, len };
}

export function isCidr6(text: unknown): text is string {
  try {
    return typeof text === 'string' && parseCidr6(text) !== null;
  } catch {
    return false;
  }
}

export function formatCidr6(cidr: Cidr6): string {
  return `${formatIPv6(bytesOf(cidr.words))}/${cidr.len}`;
}

/** Whether the address whose words are `w` lies in `outer`. */
export function cidr6ContainsWords(outer: Cidr6, w: Uint32Array): boolean {
  const m = maskWords6(outer.len);
  for (let i = 0; i < 4; i++) if (((w[i] & m[i]) >>> 0) !== outer.words[i]) return false;
  return true;
}

export function cidr6Covers(outer: Cidr6, inner: Cidr6): boolean {
  return inner.len >= outer.len && cidr6ContainsWords(outer, inner.words);
}

export function cidr6Overlaps(a: Cidr6, b: Cidr6): boolean {
  return a.len <= b.len ? cidr6ContainsWords(a, b.words) : cidr6ContainsWords(b, a.words);
}

/** The n-th address of the block (0 = network address; n below 2^32). */
export function cidr6Host(cidr: Cidr6, n: number): Buffer {
  const w = Uint32Array.from(cidr.words);
  w[3] = (w[3] + n) >>> 0;
  return bytesOf(w);
}

/** The bridge's address with the subnet's length, "fd00:0:0:1::1/64": the subnet's gateway, as gatewayCidr is for IPv4. */
export function gatewayCidr6(subnet: Cidr6): string {
  return `${formatIPv6(cidr6Host(subnet, 1))}/${subnet.len}`;
}
