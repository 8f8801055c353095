// What a host runs with — backend, port, network, its subnet, static routes —
// resolved from the command line, or from etcd's network config and a lease.
import type { EtcdSource, LaunchConfig, StaticRoute, StaticSource } from '../config/launchConfig.js';
import { type Backend, backendNames, backends } from '../dataplane/backends.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import { log } from '../log.js';
import { type Cidr, formatCidr, parseIPv4 } from '../net/ipv4.js';
import { EtcdClient } from './etcd/etcdClient.js';
import { EtcdSubnets } from './etcdSubnets.js';
import { describeNetworkConfig, NetworkConfigError } from './networkConfig.js';
import { readSubnetEnv } from './subnetEnv.js';

export interface HostPlan {
  mode: 'static' | 'etcd';
  backend: Backend;
  port: number;
  vni: number;
  network: Cidr;
  subnet: Cidr;
  publicIp: string;
  vtepMac: Buffer;
  routes: StaticRoute[];
  etcd: EtcdSubnets | null;
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
    routes: source.routes,
    etcd: null,
  };
}

export async function planFromEtcd(config: LaunchConfig, source: EtcdSource, publicIp: string, vtepMac: Buffer): Promise<HostPlan> {
  const etcd = new EtcdSubnets(new EtcdClient(source.endpoints, source.tls), source.prefix, source.leaseTtl);
  const netConfig = await etcd.loadConfig(source.waitForConfig);
  const backend = backends[netConfig.backend.type];
  if (!backend) throw new NetworkConfigError(`Backend.Type ${JSON.stringify(netConfig.backend.type)} in the etcd network config is not one tsoverlay runs (${backendNames.join(', ')})`);
  const vni = config.vni ?? netConfig.backend.vni ?? VXLAN_DEFAULT_VNI;
  const previous = (await readSubnetEnv(config.runDir))?.subnet ?? null;
  const subnet = await etcd.acquire(
    { publicIp: parseIPv4(publicIp), backendType: backend.name, vtepMac: backend.usesVtepMac ? vtepMac : null, vni },
    previous,
  );
  log.info('leased subnet from etcd', { subnet: formatCidr(subnet), network: describeNetworkConfig(netConfig), lease: etcd.leaseId });
  return {
    mode: 'etcd',
    backend,
    port: config.port ?? netConfig.backend.port ?? backend.defaultPort,
    vni,
    network: netConfig.network,
    subnet,
    publicIp,
    vtepMac,
    routes: [],
    etcd,
  };
}
