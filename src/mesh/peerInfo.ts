// What every peer tells the others about itself, by gossip.

export interface PeerInfo {
  name: string;
  /** Raised by the peer at every change; the higher one wins. */
  version: number;
  nickname: string;
  /** Underlay address, and the ports of its control and data planes. */
  publicIp: string;
  controlPort: number;
  dataPort: number;
  vtepMac: string | null;
  /** Its host block (CIDR), once it has one. */
  subnet: string | null;
  /** Names of the peers it has an established control connection with. */
  connections: string[];
  /** Set when it left on purpose (graceful stop). */
  departed: boolean;
  /** The DNS records it owns (weave.local names); versioned with the rest, so a removal is just a newer list. */
  dns?: { name: string; ip: string }[];
}

export function isPeerInfo(v: unknown): v is PeerInfo {
  const p = v as PeerInfo;
  return (
    typeof p === 'object' && p !== null &&
    typeof p.name === 'string' && p.name.length > 0 && p.name.length <= 64 &&
    Number.isInteger(p.version) && p.version >= 0 &&
    typeof p.nickname === 'string' && p.nickname.length <= 64 &&
    typeof p.publicIp === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(p.publicIp) &&
    Number.isInteger(p.controlPort) && Number.isInteger(p.dataPort) &&
    (p.vtepMac === null || typeof p.vtepMac === 'string') &&
    (p.subnet === null || typeof p.subnet === 'string') &&
    Array.isArray(p.connections) && p.connections.length <= 10_000 && p.connections.every((c) => typeof c === 'string') &&
    typeof p.departed === 'boolean' &&
    (p.dns === undefined || (Array.isArray(p.dns) && p.dns.length <= 10_000 &&
      p.dns.every((r) => typeof r === 'object' && r !== null && typeof r.name === 'string' && r.name.length <= 253 && typeof r.ip === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(r.ip))))
  );
}
