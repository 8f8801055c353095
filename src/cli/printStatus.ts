// `tsoverlay status` for a person at a terminal.
import type { Status } from '../api/status.js';
import { dropReasons } from '../dataplane/counters.js';

export function printStatus(s: Status): string {
  const lines = [
    `        Version: ${s.version}`,
    `           Mode: ${s.mode}`,
    ...(s.etcd ? [`           etcd: ${s.etcd.state} (${s.etcd.endpoint}, prefix ${s.etcd.prefix}, lease ${s.etcd.leaseId})`] : []),
    `        Backend: ${s.backend}${s.vni === null ? '' : ` (VNI ${s.vni})`} on UDP port ${s.port}`,
    `        Network: ${s.network}`,
    `         Subnet: ${s.subnet} (bridge address ${s.bridgeAddress})`,
    `      Public IP: ${s.publicIp}`,
    `      VTEP MAC: ${s.vtepMac}`,
    `            TUN: ${s.tun} (MTU ${s.mtu})`,
    `         Routes: ${s.routes.length}`,
    ...s.routes.map((r) => `                 ${r.subnet} via ${r.publicIp}:${r.port}${r.vtepMac ? ` (${r.vtepMac})` : ''}`),
    `        Traffic: sent ${s.counters.tx.packets} packets (${s.counters.tx.bytes} bytes), received ${s.counters.rx.packets} packets (${s.counters.rx.bytes} bytes)`,
  ];
  const drops = dropReasons.filter((r) => s.counters.drops[r] > 0).map((r) => `${r}=${s.counters.drops[r]}`);
  lines.push(`          Drops: ${drops.length ? drops.join(' ') : 'none'}`);
  return lines.join('\n') + '\n';
}
