// `tsoverlay status` for a person at a terminal.
import type { Status } from '../api/status.js';
import { dropReasons } from '../dataplane/counters.js';

/** One part of the status: as JSON, or a line per item. */
export function printView(s: Status, view: string, json: boolean): string {
  const parts: Record<string, unknown> = {
    peers: s.mesh?.peers ?? [],
    connections: s.mesh ? { connections: s.mesh.connections, targets: s.mesh.targets } : [],
    routes: s.routes,
    dns: s.dns,
    ipam: s.mesh?.ipam ?? { subnet: s.subnet, network: s.network },
  };
  if (!(view in parts)) throw new Error(`unknown status view ${JSON.stringify(view)} (peers, connections, routes, dns, ipam)`);
  if (json) return JSON.stringify(parts[view], null, 2) + '\n';
  const lines: string[] = [];
  if (view === 'peers') for (const p of s.mesh?.peers ?? []) lines.push(`${p.name}(${p.nickname}) ${peerReach(p)} ${p.subnet ?? '-'}${p.subnet6 ? ` ${p.subnet6}` : ''} nat=${p.nat ?? '?'} connections: ${p.connections.join(',')}`);
  if (view === 'connections') lines.push(...connectionLines(s));
  if (view === 'routes') for (const r of s.routes) lines.push(`${r.subnet} via ${r.publicIp}:${r.port}${r.vtepMac ? ` ${r.vtepMac}` : ''}`);
  if (view === 'dns') for (const e of s.dns?.entries ?? []) lines.push(`${e.name} ${e.ip}`);
  if (view === 'ipam') lines.push(s.mesh ? `range ${s.mesh.ipam.range} /${s.mesh.ipam.blockLen} founder ${s.mesh.ipam.founder} block ${s.mesh.ipam.block} owns ${s.mesh.ipam.owned.join(' ')}` : `subnet ${s.subnet} of ${s.network}`);
  return lines.map((l) => l + '\n').join('');
}

type MeshPeer = NonNullable<Status['mesh']>['peers'][number];

/** How a peer is reached: `direct 10.0.0.2:6784`, `punched 198.51.100.7:40123 (else via b)`, `relayed via b (2 hops)`, `unreachable`. */
function peerReach(p: MeshPeer): string {
  if (p.reach === 'direct') return `direct ${p.endpoint ?? '-'}`;
  if (p.reach === 'punched') return `punched ${p.endpoint} (else via ${p.nextHop})`;
  if (p.reach === 'relayed') return `relayed via ${p.nextHop} (${p.hops} hops)`;
  return p.departed ? 'departed' : 'unreachable';
}

/** Each control connection, then each target not connected, as `weave status connections` lists them. */
function connectionLines(s: Status): string[] {
  const m = s.mesh;
  if (!m) return [];
  return [
    ...m.connections.map((c) => {
      const udp = m.udpPaths.find((u) => u.peer === c.name);
      const path = udp ? ` udp=${udp.endpoint ?? '-'}${udp.probed ? (udp.alive ? '' : ' silent') : ' (guessed)'}` : '';
      return `-> ${c.address} established ${c.outbound ? 'out' : 'in'} ${c.name}(${c.nickname}) ${s.backend}${c.encrypted ? ' encrypted' : ''} mtu=${s.mtu}${path}`;
    }),
    ...m.targets.filter((t) => t.state !== 'connected').map((t) => `-> ${t.address}:${t.port} ${t.state}${t.lastError ? ` ${t.lastError}` : ''}`),
  ];
}

/** The mesh as Graphviz: peers, and the connections each reports. */
export function topologyDot(s: Status): string {
  const peers = [{ name: s.mesh?.name ?? 'self', nickname: s.mesh?.nickname ?? '', connections: (s.mesh?.connections ?? []).map((c) => c.name) }, ...(s.mesh?.peers ?? [])];
  const lines = ['digraph tsoverlay {', '  node [shape=box];'];
  for (const p of peers) lines.push(`  "${p.name}" [label="${p.name}\\n${p.nickname}"];`);
  for (const p of peers) for (const c of p.connections) lines.push(`  "${p.name}" -> "${c}";`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** weave's summary: `3 (2 established, 1 retrying)`. */
function connectionCount(m: NonNullable<Status['mesh']>): string {
  const pending = m.targets.filter((t) => t.state !== 'connected');
  const byState = new Map<string, number>();
  for (const t of pending) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
  const parts = [`${m.connections.length} established`, ...[...byState].map(([state, n]) => `${n} ${state}`)];
  return `${m.connections.length + pending.length} (${parts.join(', ')})`;
}

export function printStatus(s: Status): string {
  const lines = [
    `        Version: ${s.version}`,
    `           Mode: ${s.mode}`,
    ...(s.etcd ? [`           etcd: ${s.etcd.state} (${s.etcd.endpoint}, prefix ${s.etcd.prefix}, lease ${s.etcd.leaseId})`] : []),
    `        Backend: ${s.backend}${s.vni === null ? '' : ` (VNI ${s.vni})`} on UDP port ${s.port}`,
    `     Encryption: ${s.encryption ? `${s.encryption.cipher}; ${s.encryption.neighbours.length} neighbour(s) keyed` : 'none'}`,
    `        Network: ${s.network}`,
    `         Subnet: ${s.subnet} (bridge address ${s.bridgeAddress})`,
    ...(s.ipv6 ? [`           IPv6: ${s.ipv6.subnet} of ${s.ipv6.network} (bridge address ${s.ipv6.bridgeAddress})`] : []),
    `  IP masquerade: ${s.ipMasq ? `on, from ${s.network} to outside it (nftables ${s.ipMasq.table}${s.ipMasq.restored ? `, put back ${s.ipMasq.restored}×` : ''})` : 'off'}`,
    `      Public IP: ${s.publicIp ?? 'none given (peers see this host at its connections\' addresses)'}`,
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
      `           Peer: ${m.name} (${m.nickname}), control port ${m.controlPort}, UDP seen at ${m.udpSeenAt ?? '-'} (NAT: ${m.nat ?? 'not known yet'})`,
      `          Peers: ${m.peers.length} known, ${reachable} reachable, ${m.connections.length} connected`,
      ...m.peers.map((p) => `                 ${p.name} (${p.nickname}) ${p.subnet ?? '-'} ${peerReach(p)}${p.nat && p.nat !== 'none' ? `, ${p.nat} NAT${p.udpSeenAt ? ` at ${p.udpSeenAt}` : ''}` : ''}`),
      `        Targets: ${m.targets.map((t) => `${t.address}:${t.port} ${t.state}${t.lastError && t.state !== 'connected' ? ` (${t.lastError})` : ''}`).join(', ') || 'none'}`,
      `    Connections: ${connectionCount(m)}`,
      ...connectionLines(s).map((l) => `                 ${l}`),
      `     Allocation: range ${m.ipam.range} in /${m.ipam.blockLen} blocks, ring founded by ${m.ipam.founder ?? '-'}, own block ${m.ipam.block ?? '-'}`,
    );
  }
  const plugin = s.docker?.plugin;
  if (plugin) {
    lines.push(`  Docker plugin: ${plugin.socket} on bridge ${plugin.bridge}, addresses ${plugin.addresses}: ${plugin.allocated} given, ${plugin.networks} network(s), ${plugin.endpoints} endpoint(s); ${plugin.counters.calls} calls, ${plugin.counters.refused} refused`);
  }
  const names = s.docker?.names;
  if (names) {
    lines.push(`   Docker names: ${names.api} ${names.connected ? 'followed' : 'not reachable, retrying'}: ${names.names} name(s) for ${names.containers} container(s)${names.reconnects ? `, followed again ${names.reconnects}×` : ''}${names.failures ? `, ${names.failures} failed` : ''}`);
  }
  if (s.dns) {
    lines.push(`            DNS: ${s.dns.domain} on ${s.dns.listen}, ${s.dns.entries.length} entries, upstream ${s.dns.upstream.join(' ') || 'none'}`);
  }
  const drops = dropReasons.filter((r) => s.counters.drops[r] > 0).map((r) => `${r}=${s.counters.drops[r]}`);
  if (s.tunQueueDrops) drops.push(`tun_queue=${s.tunQueueDrops} (kernel, before the daemon)`);
  if (s.dataSocketDrops) drops.push(`data_socket=${s.dataSocketDrops} (kernel, before the daemon)`);
  lines.push(`          Drops: ${drops.length ? drops.join(' ') : 'none'}`);
  return lines.join('\n') + '\n';
}
