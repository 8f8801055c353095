// The mesh part of `tsoverlay status`, read from the node and its connections.
import { blockCidr } from '../ipam/blocks.js';
import { type Cidr, formatCidr, formatIPv4 } from '../net/ipv4.js';
import type { MeshNode } from './meshNode.js';
import type { TcpMesh, Target } from './tcpMesh.js';

export interface MeshPeerStatus {
  name: string;
  nickname: string;
  publicIp: string;
  subnet: string | null;
  reachable: boolean;
  nextHop: string | null;
  hops: number | null;
  connections: string[];
  departed: boolean;
}

export interface MeshStatus {
  name: string;
  nickname: string;
  controlPort: number;
  peers: MeshPeerStatus[];
  connections: { name: string; nickname: string; address: string; outbound: boolean; version: number; encrypted: boolean }[];
  targets: Pick<Target, 'address' | 'port' | 'learned' | 'state' | 'peer' | 'lastError'>[];
  refusedConnections: number;
  ipam: { range: string; blockLen: number; founder: string | null; block: string | null; owned: string[] };
}

export function meshStatus(node: MeshNode, tcp: TcpMesh, range: Cidr, blockLen: number, controlPort: number): MeshStatus {
  const t = node.topology;
  return {
    name: node.name,
    nickname: node.info.nickname,
    controlPort,
    peers: [...t.peers.values()]
      .filter((p) => p.name !== node.name)
      .map((p) => ({
        name: p.name,
        nickname: p.nickname,
        publicIp: p.publicIp,
        subnet: p.subnet,
        reachable: t.reachable(p.name),
        nextHop: t.nextHops.get(p.name) ?? null,
        hops: t.distances.get(p.name) ?? null,
        connections: p.connections,
        departed: p.departed,
      })),
    connections: tcp.connectionList(),
    targets: tcp.targetList().map(({ address, port, learned, state, peer, lastError }) => ({ address, port, learned, state, peer, lastError })),
    refusedConnections: tcp.refused,
    ipam: {
      range: formatCidr(range),
      blockLen,
      founder: node.ring?.founder ?? null,
      block: node.info.subnet,
      owned: node.ring ? node.ring.rangesOf(node.name).map((r) => `${formatIPv4(blockCidr({ range, blockLen }, r.start).addr)}+${r.end - r.start}`) : [],
    },
  };
}
