// IPv6 addresses as 16 bytes, their canonical text (RFC 5952) and their
// reverse-lookup name (ip6.arpa). No I/O.
import { isIPv6 as nodeIsIPv6 } from 'node:net';
import { AddressError } from './ipv4.js';

/** Whether `text` is an IPv6 address (any valid form, without a zone). */
export function isIPv6(text: unknown): text is string {
  return typeof text === 'string' && !text.includes('%') && nodeIsIPv6(text);
}

export function parseIPv6(text: string): Buffer {
  if (!isIPv6(text)) throw new AddressError(`not an IPv6 address: ${JSON.stringify(text)}`);
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        // an embedded IPv4 address (::ffff:10.0.0.1): two groups
        const [a, b, c, d] = g.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const before = groups(head);
  const after = groups(tail);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  return bytes;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** The canonical form of any IPv6 text, so that one address is one key. */
export function canonicalIPv6(text: string): string {
  return formatIPv6(parseIPv6(text));
}

/** `2001:db8::1` -> `1.0.0.0. ... .8.b.d.0.1.0.0.2.ip6.arpa` (without the trailing dot). */
export function reverseNameIPv6(bytes: Uint8Array): string {
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((bytes[i] & 15).toString(16), (bytes[i] >> 4).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The address in a reverse name's 32 nibbles (`x.x. ... .ip6.arpa` without the suffix), or null. */
export function addressOfReverseIPv6(nibbleLabels: string): Buffer | null {
  const nibbles = nibbleLabels.split('.');
  if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return null;
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(nibbles[31 - 2 * i], 16) * 16 + parseInt(nibbles[30 - 2 * i], 16);
  return bytes;
}
