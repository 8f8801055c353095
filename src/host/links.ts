// The host's side of the overlay: TUN address and routes, the container bridge,
// IP forwarding, and the underlay interface whose MTU bounds ours.
import { writeFile } from 'node:fs/promises';
import { type Cidr, formatCidr, formatIPv4, gatewayCidr } from '../net/ipv4.js';
import { canonicalIPv6, formatIPv6 } from '../net/ipv6.js';
import { type Cidr6, cidr6Host, formatCidr6, gatewayCidr6, type Stack6 } from '../net/ipv6Cidr.js';
import { HostSetupError, ip, ipBatch, ipJson } from './ipCommand.js';

interface IpAddrEntry {
  ifname: string;
  mtu: number;
  addr_info: { family: string; local: string; prefixlen?: number }[];
}

/** The interface holding `address` (IPv4 or IPv6), and its MTU. */
export async function findUnderlay(address: string): Promise<{ iface: string; mtu: number }> {
  const links = await ipJson<IpAddrEntry[]>('addr', 'show');
  const wanted = address.includes(':') ? canonicalIPv6(address) : address;
  const link = links.find((l) => l.addr_info.some((a) => (a.family === 'inet' ? a.local === wanted : a.family === 'inet6' && canonicalIPv6(a.local) === wanted)));
  if (!link) throw new HostSetupError(`no interface on this host has the public IP ${address}`);
  return { iface: link.ifname, mtu: link.mtu };
}

/**
 * The underlay's MTU when no public IP names its interface (mesh mode finds
 * its peers' addresses from the connections): the smallest MTU of the
 * interfaces the routes to `peers` leave by, or with no peer (the first host)
 * of every interface with an IPv4 or a routable IPv6 address but `skip` (our
 * bridge from a run before).
 */
export async function peersUnderlayMtu(peers: string[], skip: string[]): Promise<number> {
  const mtus = new Map<string, number>();
  for (const link of await ipJson<IpAddrEntry[]>('addr', 'show', 'up')) {
    // An address peers could use: IPv4, or IPv6 beyond link-local (every IPv6 interface has one of those).
    const routable = link.addr_info.some((a) => a.family === 'inet' || (a.family === 'inet6' && !a.local.startsWith('fe80:')));
    if (link.ifname !== 'lo' && !skip.includes(link.ifname) && routable) mtus.set(link.ifname, link.mtu);
  }
  const routes = await Promise.all(peers.map((peer) => ipJson<{ dev?: string }[]>('route', 'get', peer).catch(() => [])));
  const used = routes.flatMap(([route]) => (route?.dev && mtus.get(route.dev)) || []);
  const candidates = used.length > 0 ? used : [...mtus.values()];
  if (candidates.length === 0) throw new HostSetupError('no interface with an address to reach peers through');
  return Math.min(...candidates);
}

/**
 * TUN holds the subnet's .0/32 (as flannel's flannel.1 does) and routes the
 * whole network; dual stack, the same for IPv6 (the subnet's ::/128 and the
 * IPv6 network). IPv4 only, IPv6 stays off on it: no link-local chatter into
 * the overlay.
 */
export async function configureTun(name: string, mtu: number, subnet: Cidr, network: Cidr, v6: Stack6 | null): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, v6 ? '0' : '1').catch(() => {});
  if (v6) await writeFile(`/proc/sys/net/ipv6/conf/${name}/addr_gen_mode`, '1').catch(() => {}); // no link-local address of its own
  await ipBatch([
    ['link', 'set', 'dev', name, 'mtu', String(mtu), 'up'],
    ['addr', 'replace', `${formatIPv4(subnet.addr)}/32`, 'dev', name],
    ['route', 'replace', formatCidr(network), 'dev', name],
    ...(v6 ? [['addr', 'replace', `${formatIPv6(cidr6Host(v6.subnet, 0))}/128`, 'dev', name, 'nodad'], ['route', 'replace', formatCidr6(v6.network), 'dev', name]] : []),
  ]);
}

/** Creates (or adopts) the bridge for local containers, with the subnet's .1 (and ::1); returns whether it was created. */
export async function configureBridge(name: string, mtu: number, subnet: Cidr, subnet6: Cidr6 | null): Promise<boolean> {
  const [link] = await ipJson<IpAddrEntry[]>('addr', 'show', 'dev', name).catch(() => []);
  const wanted = gatewayCidr(subnet);
  const wanted6 = subnet6 ? gatewayCidr6(subnet6) : null;
  const commands = link ? [] : [['link', 'add', 'name', name, 'type', 'bridge']];
  // An address of an earlier subnet would keep routing that subnet onto the bridge.
  for (const a of link?.addr_info ?? []) {
    const held = `${a.local}/${a.prefixlen}`;
    if (a.family === 'inet' && held !== wanted) commands.push(['addr', 'del', held, 'dev', name]);
    if (a.family === 'inet6' && !a.local.startsWith('fe80:') && held !== wanted6) commands.push(['addr', 'del', held, 'dev', name]);
  }
  commands.push(['addr', 'replace', wanted, 'dev', name]);
  if (wanted6) commands.push(['addr', 'replace', wanted6, 'dev', name, 'nodad']);
  commands.push(['link', 'set', 'dev', name, 'mtu', String(mtu), 'up']);
  await ipBatch(commands);
  return !link;
}

export async function removeLink(name: string): Promise<void> {
  await ip('link', 'del', 'dev', name).catch(() => {});
}

export async function enableForwarding(v6: boolean): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  if (v6) await writeFile('/proc/sys/net/ipv6/conf/all/forwarding', '1');
}

/** The public IP to announce: the first IPv4 address of `iface`, or of the default route's interface (flannel's choice). */
/** The address of `iface`, or of the default route's interface (static and etcd mode: it is what peers are told). */
export async function resolvePublicIp(iface: string | null): Promise<string> {
  let name = iface;
  if (name === null) {
    const [route] = await ipJson<{ dev?: string }[]>('route', 'show', 'default');
    if (!route?.dev) throw new HostSetupError('no --public-ip or --iface given, and no default route to take the interface from');
    name = route.dev;
  }
  const [link] = await ipJson<IpAddrEntry[]>('-4', 'addr', 'show', 'dev', name).catch(() => [] as IpAddrEntry[]);
  const address = link?.addr_info.find((a) => a.family === 'inet')?.local;
  if (!address) throw new HostSetupError(`interface ${name} has no IPv4 address to use as the public IP`);
  return address;
}

/**
 * Removes a bridge this daemon created, unless containers are still attached:
 * deleting it would cut them off, and a restarted daemon adopts it again.
 */
export async function removeBridgeIfUnused(name: string): Promise<boolean> {
  const ports = await ipJson<unknown[]>('link', 'show', 'master', name).catch(() => []);
  if (ports.length > 0) return false;
  await ip('link', 'del', 'dev', name);
  return true;
}
