// The mesh part of `tsoverlay status`, read from the node and its connections.
import { blockCidr } from '../ipam/blocks.js';
import { formatHostPort } from '../net/hostPort.js';
import { type Cidr, formatCidr, formatIPv4 } from '../net/ipv4.js';
import { formatUnderlay } from '../net/underlayAddress.js';
import type { MeshNode } from './meshNode.js';
import type { NatKind } from './peerInfo.js';
import type { TcpMesh, Target } from './tcpMesh.js';
import type { ProbeCounters, UdpPaths, UdpPathStatus } from './udpPaths.js';

export interface MeshPeerStatus {
  name: string;
  nickname: string;
  publicIp: string | null;
  /** Where we send its datagrams ("ip:port"): a neighbour's or a punched path's endpoint; null for others. */
  endpoint: string | null;
  /** direct: a neighbour; punched: no neighbour, but a UDP path to it opened (udpPaths.ts); relayed: through `nextHop`. */
  reach: 'direct' | 'punched' | 'relayed' | 'unreachable';
  subnet: string | null;
  /** Its IPv6 block (dual stack), null: none. */
  subnet6: string | null;
  reachable: boolean;
  nextHop: string | null;
  hops: number | null;
  connections: string[];
  /** The NAT its neighbours' view of it suggests, as it tells it; null: not known yet. */
  nat: NatKind | null;
  udpSeenAt: string | null;
  departed: boolean;
}

export interface MeshStatus {
  name: string;
  nickname: string;
  controlPort: number;
  /** Our own UDP endpoint as neighbours see it, and the NAT that suggests (null: no neighbour told yet). */
  udpSeenAt: string | null;
  nat: NatKind | null;
  peers: MeshPeerStatus[];
  connections: { name: string; nickname: string; address: string; outbound: boolean; version: number; encrypted: boolean }[];
  targets: Pick<Target, 'address' | 'port' | 'learned' | 'state' | 'peer' | 'lastError'>[];
  refusedConnections: number;
  /** The UDP path to each neighbour, and the probes that find it. */
  udpPaths: UdpPathStatus[];
  probes: ProbeCounters;
  ipam: { range: string; blockLen: number; founder: string | null; block: string | null; owned: string[] };
}

export function meshStatus(node: MeshNode, tcp: TcpMesh, paths: UdpPaths, range: Cidr, blockLen: number, controlPort: number): MeshStatus {
  const t = node.topology;
  return {
    name: node.name,
    nickname: node.info.nickname,
    controlPort,
    udpSeenAt: node.info.udpSeenAt ?? null,
    nat: node.info.nat ?? null,
    peers: [...t.peers.values()]
      .filter((p) => p.name !== node.name)
      .map((p) => {
        const nextHop = t.nextHops.get(p.name) ?? null;
        const punched = nextHop !== null && nextHop !== p.name ? paths.punched(p.name) : null;
        const endpoint = nextHop === p.name ? paths.endpoint(p.name) : (punched?.endpoint ?? null);
        return {
          name: p.name,
          nickname: p.nickname,
          publicIp: p.publicIp,
          endpoint: endpoint ? formatHostPort(formatUnderlay(endpoint.addr), endpoint.port) : null,
          reach: nextHop === null ? 'unreachable' : nextHop === p.name ? 'direct' : punched ? 'punched' : 'relayed',
          subnet: p.subnet,
          subnet6: p.subnet6 ?? null,
          reachable: nextHop !== null,
          nextHop,
          hops: t.distances.get(p.name) ?? null,
          connections: p.connections,
          nat: p.nat ?? null,
          udpSeenAt: p.udpSeenAt ?? null,
          departed: p.departed,
        };
      }),
    connections: tcp.connectionList(),
    targets: tcp.targetList().map(({ address, port, learned, state, peer, lastError }) => ({ address, port, learned, state, peer, lastError })),
    refusedConnections: tcp.refused,
    udpPaths: paths.status(),
    probes: { ...paths.counters },
    ipam: {
      range: formatCidr(range),
      blockLen,
      founder: node.ring?.founder ?? null,
      block: node.info.subnet,
      owned: node.ring ? node.ring.rangesOf(node.name).map((r) => `${formatIPv4(blockCidr({ range, blockLen }, r.start).addr)}+${r.end - r.start}`) : [],
    },
  };
}
