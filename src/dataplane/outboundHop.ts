// Where a packet read from the TUN goes: the first step of both outbound paths.
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
