// Where a packet goes next: read from the TUN (both outbound paths), or
// received for another subnet and passed on (both inbound paths, mesh relay).
import { IPV6_HEADER } from '../net/ipPacket.js';
import type { DropCounters } from './counters.js';
import type { NextHop } from './nextHop.js';
import type { Routes } from './routes.js';

/** The next hop of the IPv4 or IPv6 packet at buf[start], or undefined after counting why (not_ip, no_route, link_scope). */
export function outboundHop(routes: Routes<NextHop>, buf: Buffer, start: number, length: number, drops: DropCounters): NextHop | undefined {
  const version = buf[start] >> 4;
  if (version === 4 ? length < 20 : version !== 6 || length < IPV6_HEADER) {
    drops.not_ip++;
    return undefined;
  }
  const hop = routes.lookupPacket(buf, start);
  if (hop !== undefined) return hop;
  // A TUN with IPv6 on sends MLD reports to ff02::16 and nothing turns them
  // off; interface- and link-scope multicast (ff01::/16, ff02::/16) never
  // leaves the link, so it is counted apart from packets that lack a route.
  if (version === 6 && buf[start + 24] === 0xff && (buf[start + 25] & 0x0f) <= 2) drops.link_scope++;
  else drops.no_route++;
  return undefined;
}

/**
 * The next hop of a received packet (at buf[at], header checked) for another
 * subnet, or undefined when it is not to be relayed: no relay routes (not
 * mesh mode), no route, or a route straight back to the sender, whose kernel
 * would route it to us again.
 */
export function relayHop(routes: Routes<NextHop> | null, buf: Buffer, at: number, from: number): NextHop | undefined {
  const hop = routes?.lookupPacket(buf, at);
  return hop === undefined || hop.addr === from ? undefined : hop;
}
