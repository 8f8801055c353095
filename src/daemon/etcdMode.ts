// etcd mode, flannel's way: the network config and a subnet lease from etcd,
// the other hosts' leases followed as routes, DNS records shared through etcd.
import type { EtcdSource, LaunchConfig } from '../config/launchConfig.js';
import { backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import { EtcdRecords } from '../dns/etcdRecords.js';
import { log } from '../log.js';
import { formatCidr, formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { cidr6Covers, formatCidr6 } from '../net/ipv6Cidr.js';
import { formatMac } from '../net/mac.js';
import { formatUnderlay, underlayHandle } from '../net/underlayAddress.js';
import type { LeaseRecord } from '../subnet/leaseRecord.js';
import { EtcdClient } from '../subnet/etcd/etcdClient.js';
import { EtcdSubnets } from '../subnet/etcdSubnets.js';
import { describeNetworkConfig, NetworkConfigError } from '../subnet/networkConfig.js';
import { readSubnetEnv } from '../subnet/subnetEnv.js';
import type { HostPlan, ModeEvents } from './hostPlan.js';

export async function planFromEtcd(config: LaunchConfig, source: EtcdSource, publicIp: string, vtepMac: Buffer, events: ModeEvents): Promise<HostPlan> {
  const etcd = new EtcdSubnets(new EtcdClient(source.endpoints, source.tls, source.auth), source.prefix, source.leaseTtl);
  etcd.onLost(events.fatal);
  const netConfig = await etcd.loadConfig(source.waitForConfig);
  const backend = backends[netConfig.backend.type];
  if (!backend || backend.name === 'sleeve') {
    throw new NetworkConfigError(`Backend.Type ${JSON.stringify(netConfig.backend.type)} in the etcd network config is not one tsoverlay runs (udp, vxlan)`);
  }
  const vni = config.vni ?? netConfig.backend.vni ?? VXLAN_DEFAULT_VNI;
  const env = await readSubnetEnv(config.runDir);
  const previous = env ? { subnet: env.subnet, subnet6: env.subnet6 ?? null } : null;
  const { subnet, subnet6 } = await etcd.acquire(
    { publicIp: parseIPv4(publicIp), publicIpv6: source.publicIpv6, backendType: backend.name, vtepMac: backend.usesVtepMac ? vtepMac : null, vni },
    previous,
  );
  log.info('leased subnet from etcd', { subnet: formatCidr(subnet), subnet6: subnet6 ? formatCidr6(subnet6) : undefined, network: describeNetworkConfig(netConfig), lease: etcd.leaseId });
  const v6 = netConfig.ipv6;
  /** A peer's IPv6 subnet, when it lies in our IPv6 network. */
  const route6 = (lease: LeaseRecord) => (v6 && lease.subnet6 && cidr6Covers(v6.network, lease.subnet6) ? lease.subnet6 : null);
  /** Where its IPv6 subnet goes: to its PublicIPv6 when both hosts have one (flannel's way), else with the IPv4 traffic. */
  const via6 = (lease: LeaseRecord) => (source.publicIpv6 && lease.publicIpv6 ? underlayHandle(lease.publicIpv6) : lease.publicIp);
  let records: EtcdRecords | null = null;
  return {
    mode: 'etcd',
    backend,
    port: config.port ?? netConfig.backend.port ?? backend.defaultPort,
    vni,
    network: netConfig.network,
    subnet,
    ipv6: v6 && subnet6 ? { network: v6.network, subnet: subnet6 } : null,
    publicIp,
    vtepMac,
    relay: false,
    routes: {
      attach: (dataplane, port) =>
        etcd.follow({
          set: (lease) => {
            const hop = { addr: lease.publicIp, port, vtepMac: lease.vtepMac };
            dataplane.setRoute(lease.subnet, hop);
            const cidr6 = route6(lease);
            if (cidr6) dataplane.setRoute(cidr6, { addr: via6(lease), port, vtepMac: lease.vtepMac6 ?? lease.vtepMac });
            log.info('route', { subnet: formatCidr(lease.subnet), subnet6: cidr6 ? formatCidr6(cidr6) : undefined, via: formatIPv4(lease.publicIp), via6: cidr6 ? formatUnderlay(via6(lease)) : undefined, vtepMac: lease.vtepMac ? formatMac(lease.vtepMac) : undefined });
          },
          remove: (lease) => {
            dataplane.deleteRoute(lease.subnet);
            const cidr6 = route6(lease);
            if (cidr6) dataplane.deleteRoute(cidr6);
            log.info('route removed', { subnet: formatCidr(lease.subnet) });
          },
        }),
      // The lease stays in etcd, as flanneld leaves it, so a restart gets the subnet back.
      close: async () => {
        records?.close();
        etcd.close();
      },
      attachDns(store) {
        records = new EtcdRecords(etcd, store, publicIp);
        const started = records.start().catch((e: Error) => log.warn('cannot read DNS records from etcd', { error: e.message }));
        return { published: () => void started.then(() => records!.publish()) };
      },
      status: () => ({ etcd: { endpoint: etcd.client.endpoint, prefix: etcd.prefix, state: etcd.state, leaseId: etcd.leaseId } }),
    },
    api: {},
  };
}
