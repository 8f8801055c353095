// Mesh-mode hosts: tsoverlay launched with peer addresses, and a container
// behind each host's bridge once its block is known.
import { cidrHost, formatIPv4, parseCidr } from '../net/ipv4.js';
import { formatIPv6 } from '../net/ipv6.js';
import { cidr6Host, parseCidr6 } from '../net/ipv6Cidr.js';
import type { Lab, LabContainer, LabHost } from './lab.js';
import type { LabDaemon } from './labDaemon.js';

export const MESH_BRIDGE = 'tsobr';

export interface MeshSide {
  host: LabHost;
  daemon: LabDaemon;
  subnet: string;
  container: LabContainer;
  /** The container's IPv6 address when the daemon is dual stack (--ipv6), else null. */
  container6: string | null;
}

export function meshArgs(host: LabHost, peers: LabHost[], extra: string[] = []): string[] {
  return ['--bridge', MESH_BRIDGE, '--name', host.name, ...extra, ...peers.map((p) => p.ip)];
}

/** Puts a container behind a running mesh daemon's bridge, with an IPv6 address too when the daemon is dual stack. */
export async function addMeshContainer(lab: Lab, host: LabHost, daemon: LabDaemon): Promise<MeshSide> {
  const status = await daemon.status();
  const subnet = parseCidr(status.subnet);
  const container = await lab.addContainer(host, 'c1', `${formatIPv4(cidrHost(subnet, 2))}/${subnet.len}`, formatIPv4(cidrHost(subnet, 1)), MESH_BRIDGE, status.mtu);
  const subnet6 = status.ipv6 ? parseCidr6(status.ipv6.subnet) : null;
  const container6 = subnet6 ? await lab.addContainerIPv6(container, `${formatIPv6(cidr6Host(subnet6, 2))}/${subnet6.len}`, formatIPv6(cidr6Host(subnet6, 1))) : null;
  return { host, daemon, subnet: status.subnet, container, container6 };
}

/** Starts tsoverlay on every host at once (host i told of `seeds(i)`), then puts a container behind each. */
export async function startMesh(lab: Lab, hosts: LabHost[], seeds: (i: number) => LabHost[], extra: string[] = [], timeoutMs = 40_000): Promise<MeshSide[]> {
  const daemons = await Promise.all(hosts.map((h, i) => lab.startDaemon(h, meshArgs(h, seeds(i), extra), timeoutMs)));
  const sides: MeshSide[] = [];
  for (let i = 0; i < hosts.length; i++) sides.push(await addMeshContainer(lab, hosts[i], daemons[i]));
  return sides;
}

/** Blocks a host from reaching others on the underlay (both directions), leaving its other links alone. */
export async function blockLink(lab: Lab, a: LabHost, b: LabHost): Promise<void> {
  await lab.exec(a.ns, 'iptables', ['-A', 'INPUT', '-s', b.ip, '-j', 'DROP']);
  await lab.exec(a.ns, 'iptables', ['-A', 'OUTPUT', '-d', b.ip, '-j', 'DROP']);
}

export async function unblockLink(lab: Lab, a: LabHost, b: LabHost): Promise<void> {
  await lab.exec(a.ns, 'iptables', ['-D', 'INPUT', '-s', b.ip, '-j', 'DROP']);
  await lab.exec(a.ns, 'iptables', ['-D', 'OUTPUT', '-d', b.ip, '-j', 'DROP']);
}

/** Cuts every pair of hosts off from each other except the `allowed` links ("a-b": both ways). */
export async function onlyLinks(lab: Lab, hosts: LabHost[], allowed: string[]): Promise<void> {
  for (const x of hosts) {
    for (const y of hosts) {
      if (x !== y && !allowed.includes(`${x.name}-${y.name}`) && !allowed.includes(`${y.name}-${x.name}`)) await blockLink(lab, x, y);
    }
  }
}
