// etcd mode, flannel's way: the network config and a subnet lease from etcd,
// the other hosts' leases followed as routes, DNS records shared through etcd.
import type { EtcdSource, LaunchConfig } from '../config/launchConfig.js';
import { backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import { EtcdRecords } from '../dns/etcdRecords.js';
import { log } from '../log.js';
import { formatCidr, formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { formatMac } from '../net/mac.js';
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
  const previous = (await readSubnetEnv(config.runDir))?.subnet ?? null;
  const subnet = await etcd.acquire(
    { publicIp: parseIPv4(publicIp), backendType: backend.name, vtepMac: backend.usesVtepMac ? vtepMac : null, vni },
    previous,
  );
  log.info('leased subnet from etcd', { subnet: formatCidr(subnet), network: describeNetworkConfig(netConfig), lease: etcd.leaseId });
  let records: EtcdRecords | null = null;
  return {
    mode: 'etcd',
    backend,
    port: config.port ?? netConfig.backend.port ?? backend.defaultPort,
    vni,
    network: netConfig.network,
    subnet,
    network6: null,
    subnet6: null,
    publicIp,
    vtepMac,
    relay: false,
    routes: {
      attach: (dataplane, port) =>
        etcd.follow({
          set: (lease) => {
            dataplane.setRoute(lease.subnet, { addr: lease.publicIp, port, vtepMac: lease.vtepMac });
            log.info('route', { subnet: formatCidr(lease.subnet), via: formatIPv4(lease.publicIp), vtepMac: lease.vtepMac ? formatMac(lease.vtepMac) : undefined });
          },
          remove: (subnet) => {
            dataplane.deleteRoute(subnet);
            log.info('route removed', { subnet: formatCidr(subnet) });
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
