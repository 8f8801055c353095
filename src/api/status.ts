// What `tsoverlay status` shows: built from the daemon's state on each request.
import type { LaunchConfig } from '../config/launchConfig.js';
import type { DataplaneCounters } from '../dataplane/counters.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import { cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { formatMac } from '../net/mac.js';

export interface RouteStatus {
  subnet: string;
  publicIp: string;
  port: number;
  vtepMac: string | null;
}

export interface Status {
  version: string;
  mode: 'static';
  backend: string;
  network: string;
  subnet: string;
  bridgeAddress: string;
  publicIp: string;
  port: number;
  vni: number | null;
  vtepMac: string;
  tun: string;
  mtu: number;
  routes: RouteStatus[];
  counters: DataplaneCounters;
}

export const VERSION = '0.1.0';

export function buildStatus(config: LaunchConfig, dataplane: Dataplane, vtepMac: Buffer, mtu: number): Status {
  return {
    version: VERSION,
    mode: 'static',
    backend: config.backend.name,
    network: formatCidr(config.network),
    subnet: formatCidr(config.subnet),
    bridgeAddress: `${formatIPv4(cidrHost(config.subnet, 1))}/${config.subnet.len}`,
    publicIp: config.publicIp,
    port: dataplane.udp.port,
    vni: config.backend.usesVtepMac ? config.vni : null,
    vtepMac: formatMac(vtepMac),
    tun: dataplane.tun.name,
    mtu,
    routes: [...dataplane.routes.entries()].map((r) => ({
      subnet: formatCidr(r.cidr),
      publicIp: formatIPv4(r.target.addr),
      port: r.target.port,
      vtepMac: r.target.vtepMac ? formatMac(r.target.vtepMac) : null,
    })),
    counters: dataplane.counters,
  };
}
