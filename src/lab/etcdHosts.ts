// Hosts whose subnets come from etcd: an etcd host on the underlay, and
// tsoverlay on each host with --etcd-endpoints; a container behind each once
// its subnet is known.
import { cidrHost, formatIPv4, parseCidr } from '../net/ipv4.js';
import { formatIPv6 } from '../net/ipv6.js';
import { cidr6Host, parseCidr6 } from '../net/ipv6Cidr.js';
import type { Lab, LabContainer, LabHost } from './lab.js';
import type { LabDaemon } from './labDaemon.js';
import { LabEtcd } from './labEtcd.js';

export const ETCD_BRIDGE = 'tsobr';

export interface EtcdSide {
  host: LabHost;
  daemon: LabDaemon;
  subnet: string;
  container: LabContainer;
  /** The container's IPv6 address when the network config has EnableIPv6, else null. */
  container6: string | null;
}

export async function startLabEtcd(lab: Lab, networkConfig: object | null): Promise<LabEtcd> {
  const etcd = new LabEtcd(lab, await lab.addHost('etcd'));
  await etcd.start();
  if (networkConfig) await etcd.ctl('put', '/coreos.com/network/config', JSON.stringify(networkConfig));
  return etcd;
}

export function etcdArgs(etcd: LabEtcd, extra: string[] = []): string[] {
  return ['--etcd-endpoints', etcd.endpoint, '--bridge', ETCD_BRIDGE, ...extra];
}

/** Starts tsoverlay on `host` against etcd and puts a container behind it. */
export async function addEtcdSide(lab: Lab, host: LabHost, etcd: LabEtcd, extra: string[] = []): Promise<EtcdSide> {
  const daemon = await lab.startDaemon(host, ['--public-ip', host.ip, ...etcdArgs(etcd, extra)]);
  const status = await daemon.status();
  const subnet = parseCidr(status.subnet);
  const container = await lab.addContainer(host, 'c1', `${formatIPv4(cidrHost(subnet, 2))}/${subnet.len}`, formatIPv4(cidrHost(subnet, 1)), ETCD_BRIDGE, status.mtu);
  const subnet6 = status.ipv6 ? parseCidr6(status.ipv6.subnet) : null;
  const container6 = subnet6 ? await lab.addContainerIPv6(container, `${formatIPv6(cidr6Host(subnet6, 2))}/${subnet6.len}`, formatIPv6(cidr6Host(subnet6, 1))) : null;
  return { host, daemon, subnet: status.subnet, container, container6 };
}
