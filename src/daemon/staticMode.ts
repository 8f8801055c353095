// Static mode: the subnet and every route given on the command line.
import type { LaunchConfig, StaticRoute, StaticSource } from '../config/launchConfig.js';
import { VXLAN_DEFAULT_VNI } from '../dataplane/codecs/vxlanCodec.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { formatAnyCidr } from '../net/cidr.js';
import { formatUnderlay } from '../net/underlayAddress.js';
import type { HostPlan } from './hostPlan.js';

export function planFromFlags(config: LaunchConfig, source: StaticSource, publicIp: string, vtepMac: Buffer): HostPlan {
  let dataplane: Dataplane | null = null;
  let routes = source.routes;
  return {
    mode: 'static',
    backend: source.backend,
    port: config.port ?? source.backend.defaultPort,
    vni: config.vni ?? VXLAN_DEFAULT_VNI,
    network: source.network,
    subnet: source.subnet,
    ipv6: source.network6 && source.subnet6 ? { network: source.network6, subnet: source.subnet6 } : null,
    publicIp,
    vtepMac,
    relay: false,
    routes: {
      async attach(dp, port) {
        dataplane = dp;
        for (const r of routes) dp.setRoute(r.cidr, { addr: r.publicIp, port, vtepMac: r.vtepMac });
      },
      async close() {},
      status: () => ({}),
      reload(next, plan) {
        if (!plan.routes || next.source.kind !== 'static' || !dataplane) return [];
        const port = config.port ?? source.backend.defaultPort;
        const wanted = next.source.routes;
        const key = (r: StaticRoute) => formatAnyCidr(r.cidr);
        const kept = new Set(wanted.map(key));
        for (const r of routes) if (!kept.has(key(r))) dataplane.deleteRoute(r.cidr);
        // setRoute replaces a route to the same subnet: a changed hop takes effect at once.
        for (const r of wanted) dataplane.setRoute(r.cidr, { addr: r.publicIp, port, vtepMac: r.vtepMac });
        routes = wanted;
        return [`routes: ${wanted.map((r) => `${key(r)}=${formatUnderlay(r.publicIp)}`).join(' ') || 'none'}`];
      },
    },
    api: {},
  };
}
