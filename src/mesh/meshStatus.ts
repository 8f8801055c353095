// The mesh part of `tsoverlay status`.
import type { Target } from './tcpMesh.js';

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
