// `GET /status`, built on each request from the plan and a snapshot of the data path.
import { type DnsStatus, type DockerStatus, type Status, VERSION } from '../api/status.js';
import { processStatus } from '../api/processStatus.js';
import type { DataplaneSnapshot } from '../dataplane/dataplane.js';
import { formatAnyCidr } from '../net/cidr.js';
import { formatCidr, gatewayCidr } from '../net/ipv4.js';
import { formatUnderlay } from '../net/underlayAddress.js';
import { formatCidr6, gatewayCidr6 } from '../net/ipv6Cidr.js';
import { formatMac } from '../net/mac.js';
import { dataSocketDrops, tunQueueDrops } from '../host/kernelDrops.js';
import type { HostPlan } from './hostPlan.js';

const CIPHER = 'NaCl secretbox (XSalsa20-Poly1305), Curve25519 session keys';

export function buildStatus(plan: HostPlan, data: DataplaneSnapshot, mtu: number, dns: DnsStatus | null, ipMasq: Status['ipMasq'], docker: DockerStatus | null): Status {
  return {
    version: VERSION,
    mode: plan.mode,
    backend: plan.backend.name,
    network: formatCidr(plan.network),
    subnet: formatCidr(plan.subnet),
    bridgeAddress: gatewayCidr(plan.subnet),
    ipv6: plan.ipv6 && { network: formatCidr6(plan.ipv6.network), subnet: formatCidr6(plan.ipv6.subnet), bridgeAddress: gatewayCidr6(plan.ipv6.subnet) },
    publicIp: plan.publicIp,
    port: data.port,
    vni: plan.backend.usesVtepMac ? plan.vni : null,
    vtepMac: formatMac(plan.vtepMac),
    tun: data.tun,
    mtu,
    offload: data.offload,
    ipMasq,
    routes: data.routes.map((r) => ({ subnet: formatAnyCidr(r.cidr), publicIp: formatUnderlay(r.addr), port: r.port, vtepMac: r.vtepMac ? formatMac(r.vtepMac) : null })),
    counters: data.counters,
    tunQueueDrops: tunQueueDrops(data.tun),
    dataSocketDrops: dataSocketDrops(data.port),
    peerTraffic: data.peers.map(({ addr, counters }) => ({ publicIp: formatUnderlay(addr), ...counters })),
    process: processStatus(),
    encryption: data.neighbours === null ? null : {
      cipher: CIPHER,
      neighbours: data.neighbours.map((n) => ({ publicIp: formatUnderlay(n.addr), port: n.port, txEpoch: n.txEpoch, txCounter: n.txCounter, rxEpoch: n.rxEpoch })),
    },
    dns,
    docker,
    ...plan.routes.status(),
  };
}
