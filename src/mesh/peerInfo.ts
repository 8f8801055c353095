// What every peer tells the others about itself, by gossip.
import { isEndpoint } from '../net/hostPort.js';
import { isCidr, isIPv4 } from '../net/ipv4.js';
import { canonicalIPv6, isIPv6 } from '../net/ipv6.js';
import { isCidr6 } from '../net/ipv6Cidr.js';
import { isMac } from '../net/mac.js';

export interface PeerInfo {
  name: string;
  /** Raised by the peer at every change; the higher one wins. */
  version: number;
  nickname: string;
  /**
   * Its underlay address if the operator gave one (`--public-ip`); null in
   * mesh mode otherwise: its neighbours know it by the connection's address.
   */
  publicIp: string | null;
  /** The ports of its control and data planes. */
  controlPort: number;
  dataPort: number;
  vtepMac: string | null;
  /** Its host block (CIDR), once it has one. */
  subnet: string | null;
  /** Dual stack: its IPv6 block, the one that goes with `subnet`. Absent from older builds and IPv4-only peers. */
  subnet6?: string;
  /** Names of the peers it has an established control connection with. */
  connections: string[];
  /**
   * The underlay address it sees each of those at, in the same order: the
   * address it dialled, or the remote address of an inbound connection. How
   * others find a peer to dial, as weave does.
   */
  connectionAddrs?: string[];
  /** Its UDP endpoint as a neighbour sees its datagrams arrive ("ip:port"), and the NAT that suggests. */
  udpSeenAt?: string;
  nat?: NatKind;
  /** Set when it left on purpose (graceful stop). */
  departed: boolean;
  /** The DNS records it owns (weave.local names); versioned with the rest, so a removal is just a newer list. */
  dns?: { name: string; ip: string }[];
  /**
   * Its IPv6 records (AAAA), apart: a peer of an older build checks every
   * `dns` address as IPv4 and would refuse the whole info, but ignores a
   * field it does not know.
   */
  dns6?: { name: string; ip: string }[];
}

/** What the endpoints neighbours report suggest (mesh/natKind.ts). */
export type NatKind = 'none' | 'behind-nat' | 'endpoint-independent' | 'symmetric';
const NAT_KINDS: readonly string[] = ['none', 'behind-nat', 'endpoint-independent', 'symmetric'];

export function isPeerInfo(v: unknown): v is PeerInfo {
  const p = v as PeerInfo;
  return (
    typeof p === 'object' && p !== null &&
    typeof p.name === 'string' && p.name.length > 0 && p.name.length <= 64 &&
    Number.isInteger(p.version) && p.version >= 0 &&
    typeof p.nickname === 'string' && p.nickname.length <= 64 &&
    (p.publicIp === null || isUnderlayText(p.publicIp)) &&
    Number.isInteger(p.controlPort) && Number.isInteger(p.dataPort) &&
    // Checked as the route code parses them: a forged one must not throw there, on every later change.
    (p.vtepMac === null || isMac(p.vtepMac)) &&
    (p.subnet === null || isCidr(p.subnet)) &&
    (p.subnet6 === undefined || isCidr6(p.subnet6)) &&
    Array.isArray(p.connections) && p.connections.length <= 10_000 && p.connections.every((c) => typeof c === 'string') &&
    (p.connectionAddrs === undefined ||
      (Array.isArray(p.connectionAddrs) && p.connectionAddrs.length === p.connections.length && p.connectionAddrs.every(isUnderlayText))) &&
    (p.udpSeenAt === undefined || isEndpoint(p.udpSeenAt)) &&
    (p.nat === undefined || NAT_KINDS.includes(p.nat)) &&
    typeof p.departed === 'boolean' &&
    isRecordList(p.dns, isIPv4) &&
    isRecordList(p.dns6, isIPv6)
  );
}

function isRecordList(list: unknown, isAddress: (ip: unknown) => boolean): boolean {
  return list === undefined || (Array.isArray(list) && list.length <= 10_000 &&
    list.every((r: { name?: unknown; ip?: unknown }) => typeof r === 'object' && r !== null && typeof r.name === 'string' && r.name.length <= 253 && isAddress(r.ip)));
}

/** An underlay address as gossip carries it: IPv4, or IPv6 in canonical form (what the route code turns into a handle). */
function isUnderlayText(v: unknown): v is string {
  return isIPv4(v) || (isIPv6(v) && canonicalIPv6(v) === v);
}
