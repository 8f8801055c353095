// Where a packet goes next: read from the TUN (both outbound paths), or
// received for another subnet and passed on (both inbound paths, mesh relay).
import type { DropCounters } from './counters.js';
import type { NextHop } from './nextHop.js';
import type { RouteTable } from './routeTable.js';

/** The next hop of the IPv4 packet at buf[start], or undefined after counting why (not_ip, no_route). */
export function outboundHop(routes: RouteTable<NextHop>, buf: Buffer, start: number, length: number, drops: DropCounters): NextHop | undefined {
  if (length < 20 || buf[start] >> 4 !== 4) {
    drops.not_ip++;
    return undefined;
  }
  const hop = routes.lookup(buf.readUInt32BE(start + 16));
  if (hop === undefined) drops.no_route++;
  return hop;
}

/**
 * The next hop of a received packet for another subnet, or undefined when it
 * is not to be relayed: no relay routes (not mesh mode), no route, or a route
 * straight back to the sender, whose kernel would route it to us again.
 */
export function relayHop(routes: RouteTable<NextHop> | null, dst: number, from: number): NextHop | undefined {
  const hop = routes?.lookup(dst);
  return hop === undefined || hop.addr === from ? undefined : hop;
}
