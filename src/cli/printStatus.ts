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
    `        Traffic: sent ${s.counters.tx.packets} packets (${s.counters.tx.bytes} bytes), received ${s.counters.rx.packets} packets (${s.counters.rx.bytes} bytes), relayed ${s.counters.relayed}`,
  ];
  if (s.mesh) {
    const m = s.mesh;
    const reachable = m.peers.filter((p) => p.reachable).length;
    lines.splice(2, 0,
      `           Peer: ${m.name} (${m.nickname}), control port ${m.controlPort}`,
      `          Peers: ${m.peers.length} known, ${reachable} reachable, ${m.connections.length} connected`,
      ...m.peers.map((p) => `                 ${p.name} (${p.nickname}) ${p.publicIp} ${p.subnet ?? '-'} ${p.reachable ? `via ${p.nextHop}, ${p.hops} hop${p.hops === 1 ? '' : 's'}` : p.departed ? 'departed' : 'unreachable'}`),
      `        Targets: ${m.targets.map((t) => `${t.address}:${t.port} ${t.state}${t.lastError && t.state !== 'connected' ? ` (${t.lastError})` : ''}`).join(', ') || 'none'}`,
      `     Allocation: range ${m.ipam.range} in /${m.ipam.blockLen} blocks, ring founded by ${m.ipam.founder ?? '-'}, own block ${m.ipam.block ?? '-'}`,
    );
  }
  const drops = dropReasons.filter((r) => s.counters.drops[r] > 0).map((r) => `${r}=${s.counters.drops[r]}`);
  lines.push(`          Drops: ${drops.length ? drops.join(' ') : 'none'}`);
  return lines.join('\n') + '\n';
}
