// Underlay addresses as the packet path names them: one 32-bit number each,
// so that columns of peers stay typed arrays. An IPv4 address is its own
// number; an IPv6 address gets a handle in 240.0.0.0/4 (reserved, never a
// peer's IPv4 address), PEER6_BASE + i for the address in slot i of the
// table the addon reads (native-bindings/src/udp.c). Handles are never
// reused: the table holds every IPv6 peer address this process has named.
import { AddressError, formatIPv4, isIPv4, parseIPv4 } from './ipv4.js';
import { formatIPv6, isIPv6, parseIPv6 } from './ipv6.js';

export const PEER6_BASE = 0xf0000000;
/** What the addon reports for an IPv6 source in no slot: no peer of ours. */
export const PEER6_UNKNOWN = 0xffffffff;
const MAX_PEERS6 = 1 << 20;

class Peers6 {
  private slots = Buffer.alloc(16 * 16);
  private count = 0;
  private readonly byText = new Map<string, number>();
  /** The slots in use, as the addon takes them: replaced (not grown in place) when it fills. */
  table = this.slots.subarray(0, 0);

  handle(text: string): number {
    const canonical = formatIPv6(parseIPv6(text));
    let handle = this.byText.get(canonical);
    if (handle !== undefined) return handle;
    if (this.count === MAX_PEERS6) throw new AddressError(`more than ${MAX_PEERS6} IPv6 peer addresses`);
    if (16 * (this.count + 1) > this.slots.length) {
      const bigger = Buffer.alloc(this.slots.length * 2);
      this.slots.copy(bigger);
      this.slots = bigger;
    }
    parseIPv6(canonical).copy(this.slots, 16 * this.count);
    handle = PEER6_BASE + this.count++;
    this.byText.set(canonical, handle);
    this.table = this.slots.subarray(0, 16 * this.count);
    return handle;
  }

  text(handle: number): string {
    const i = handle - PEER6_BASE;
    return i >= 0 && i < this.count ? formatIPv6(this.slots.subarray(16 * i, 16 * i + 16)) : 'unknown';
  }
}

/** The process's IPv6 peer table: the names outlive routes and sockets (a takeover's new socket reads the same). */
export const peers6 = new Peers6();

/** The packet path's name for an underlay address, IPv4 or IPv6. */
export function underlayHandle(text: string): number {
  if (isIPv4(text)) {
    const value = parseIPv4(text);
    if (value >= PEER6_BASE) throw new AddressError(`${text} is in 240.0.0.0/4, reserved: not an underlay address`);
    return value;
  }
  if (isIPv6(text)) return peers6.handle(text);
  throw new AddressError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
}

export function formatUnderlay(handle: number): string {
  return handle >= PEER6_BASE ? peers6.text(handle) : formatIPv4(handle);
}

export function isUnderlay6(handle: number): boolean {
  return handle >= PEER6_BASE;
}
