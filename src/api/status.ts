// What `tsoverlay status` shows: built from the daemon's state on each request.
import type { DataplaneCounters } from '../dataplane/counters.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { HostPlan } from '../subnet/hostPlan.js';
import type { MeshStatus } from '../mesh/meshStatus.js';
import { cidrHost, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { formatMac } from '../net/mac.js';
import { processStatus, type ProcessStatus } from './processStatus.js';

export interface RouteStatus {
  subnet: string;
  publicIp: string;
  port: number;
  vtepMac: string | null;
}

export interface Status {
  version: string;
  mode: 'static' | 'etcd' | 'mesh';
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
  /** TUN TSO/checksum offload with UDP GSO/GRO in use. */
  offload: boolean;
  routes: RouteStatus[];
  counters: DataplaneCounters;
  process: ProcessStatus;
  /** null: datagrams go in the clear. */
  encryption: { cipher: string; neighbours: { publicIp: string; txEpoch: number; txCounter: number; rxEpoch: number }[] } | null;
  etcd?: { endpoint: string; prefix: string; state: string; leaseId: string | null };
  mesh?: MeshStatus;
}

export const VERSION = '0.1.0';

export function buildStatus(plan: HostPlan, dataplane: Dataplane, mtu: number): Status {
  return {
    version: VERSION,
    mode: plan.mode,
    backend: plan.backend.name,
    network: formatCidr(plan.network),
    subnet: formatCidr(plan.subnet),
    bridgeAddress: `${formatIPv4(cidrHost(plan.subnet, 1))}/${plan.subnet.len}`,
    publicIp: plan.publicIp,
    port: dataplane.udp.port,
    vni: plan.backend.usesVtepMac ? plan.vni : null,
    vtepMac: formatMac(plan.vtepMac),
    tun: dataplane.tun.name,
    mtu,
    offload: dataplane.tun.offload,
    routes: [...dataplane.routes.entries()].map((r) => ({
      subnet: formatCidr(r.cidr),
      publicIp: formatIPv4(r.target.addr),
      port: r.target.port,
      vtepMac: r.target.vtepMac ? formatMac(r.target.vtepMac) : null,
    })),
    counters: dataplane.counters,
    process: processStatus(),
    encryption: dataplane.keys === null ? null : {
      cipher: 'NaCl secretbox (XSalsa20-Poly1305), Curve25519 session keys',
      neighbours: [...dataplane.keys].map(([addr, k]) => ({ publicIp: formatIPv4(addr), txEpoch: k.txEpoch, txCounter: k.txCounter, rxEpoch: k.rx.epoch })),
    },
    ...plan.routes.status(),
  };
}
