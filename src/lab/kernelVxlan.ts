// A host whose overlay is the Linux kernel's own VXLAN device, set up the way
// flanneld's vxlan backend sets up flannel.1: the interop peer and the
// benchmarks' reference. Its offloads stay as the kernel sets them: between
// veths its inner TCP and UDP checksums cross unfinished (CHECKSUM_PARTIAL),
// the hard case a peer on one machine (kind, k3d, CI labs) sends.
import { writeFileSync } from 'node:fs';
import { cidrHost, formatIPv4, parseCidr } from '../net/ipv4.js';
import { formatIPv6 } from '../net/ipv6.js';
import { cidr6Host, parseCidr6 } from '../net/ipv6Cidr.js';
import type { Lab, LabHost } from './lab.js';

export interface VxlanPeer {
  subnet: string;
  /** The peer's IPv6 subnet, routed through the same device (dual stack). */
  subnet6?: string;
  publicIp: string;
  vtepMac: string;
}

export interface KernelVxlanOptions {
  device?: string;
  /** The device's underlay address (IPv6: an IPv6 underlay, as flannel's flannel-v6.1); the host's IPv4 address unless given. */
  local?: string;
  vni?: number;
  port?: number;
  subnet: string;
  /** Dual stack: this host's IPv6 subnet; the device carries inner IPv6 too, over the IPv4 underlay. */
  subnet6?: string;
  vtepMac: string;
  mtu?: number;
  peers: VxlanPeer[];
}

export async function setUpKernelVxlan(lab: Lab, host: LabHost, o: KernelVxlanOptions): Promise<void> {
  const dev = o.device ?? 'flannel.1';
  const sh = (...args: string[]) => lab.exec(host.ns, args[0], args.slice(1));
  const subnet = parseCidr(o.subnet);
  await sh('ip', 'link', 'add', dev, 'type', 'vxlan', 'id', String(o.vni ?? 1), 'local', o.local ?? host.ip, 'dev', 'eth0', 'dstport', String(o.port ?? 8472), 'nolearning');
  await sh('ip', 'link', 'set', dev, 'address', o.vtepMac, 'mtu', String(o.mtu ?? 1450), 'up');
  await sh('ip', 'addr', 'add', `${formatIPv4(subnet.addr)}/32`, 'dev', dev);
  for (const peer of o.peers) {
    const gateway = formatIPv4(cidrHost(parseCidr(peer.subnet), 0));
    await sh('ip', 'neigh', 'replace', gateway, 'lladdr', peer.vtepMac, 'dev', dev, 'nud', 'permanent');
    await sh('bridge', 'fdb', 'append', peer.vtepMac, 'dev', dev, 'dst', peer.publicIp);
    await sh('ip', 'route', 'replace', peer.subnet, 'via', gateway, 'dev', dev, 'onlink');
    if (peer.subnet6) {
      // As for IPv4: the peer subnet's first address, resolved to its VTEP MAC for good.
      const gateway6 = formatIPv6(cidr6Host(parseCidr6(peer.subnet6), 0));
      await sh('ip', '-6', 'neigh', 'replace', gateway6, 'lladdr', peer.vtepMac, 'dev', dev, 'nud', 'permanent');
      await sh('ip', '-6', 'route', 'replace', peer.subnet6, 'via', gateway6, 'dev', dev, 'onlink');
    }
  }
  await sh('sysctl', '-qw', 'net.ipv4.ip_forward=1');
  if (o.subnet6) {
    await sh('ip', 'addr', 'add', `${formatIPv6(cidr6Host(parseCidr6(o.subnet6), 0))}/128`, 'dev', dev, 'nodad');
    await sh('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  }
}

/** Seeds a daemon's run dir with a known VTEP MAC, so peers can be configured before it starts. */
export function seedVtepMac(runDir: string, mac: string): void {
  writeFileSync(`${runDir}/vtep-mac`, `${mac}\n`);
}
