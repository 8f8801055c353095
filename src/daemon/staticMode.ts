// Static mode: the subnet and every route given on the command line.
import type { LaunchConfig, StaticSource } from '../config/launchConfig.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import type { HostPlan } from './hostPlan.js';

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
    api: {},
  };
}
