// What a host runs with — backend, port, network, its subnet — and where its
// routes come from: the command line, etcd's leases, or the mesh.
import type { EtcdSource, LaunchConfig, StaticSource } from '../config/launchConfig.js';
import { type Backend, backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { log } from '../log.js';
import { type Cidr, formatCidr, formatIPv4, parseIPv4 } from '../net/ipv4.js';
import { formatMac } from '../net/mac.js';
import { EtcdClient } from './etcd/etcdClient.js';
import { EtcdSubnets } from './etcdSubnets.js';
import { describeNetworkConfig, NetworkConfigError } from './networkConfig.js';
import { readSubnetEnv } from './subnetEnv.js';
import type { RecordStore } from '../dns/recordStore.js';
import { EtcdRecords } from '../dns/etcdRecords.js';

/** Where routes come from: attached to the data plane once it is up, closed at stop. */
export interface RouteSource {
  attach(dataplane: Dataplane, port: number): Promise<void>;
  close(): Promise<void>;
  /** Mode-specific part of `status`. */
  status(): Record<string, unknown>;
  /** Shares this host's DNS records with the others and feeds theirs into the store (mesh mode). */
  attachDns?(store: RecordStore): { published(): void };
}

export interface HostPlan {
  mode: 'static' | 'etcd' | 'mesh';
  backend: Backend;
  port: number;
  vni: number;
  network: Cidr;
  subnet: Cidr;
  publicIp: string;
  vtepMac: Buffer;
  /** Relay packets for other subnets (mesh mode: partially connected networks). */
  relay: boolean;
  routes: RouteSource;
}

export function planFromFlags(config: LaunchConfig, source: StaticSource, publicIp: string, vtepMac: Buffer): HostPlan {
  return {
    mode: 'static',
    backend: source.backend,
    port: config.port ?? source.backend.defaultPort,
    vni: config.vni ?? VXLAN_DEFAULT_VNI,
    network: source.network,
    subnet: source.subnet,
    publicIp,
    vtepMac,
    relay: false,
    routes: {
      async attach(dataplane, port) {
        for (const r of source.routes) dataplane.setRoute(r.cidr, { addr: r.publicIp, port, vtepMac: r.vtepMac });
      },
      async close() {},
      status: () => ({}),
    },
  };
}

export async function planFromEtcd(config: LaunchConfig, source: EtcdSource, publicIp: string, vtepMac: Buffer): Promise<HostPlan> {
  const etcd = new EtcdSubnets(new EtcdClient(source.endpoints, source.tls), source.prefix, source.leaseTtl);
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
  };
}

