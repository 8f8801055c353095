// Packet counters of the data path. Plain numbers in fixed-shape objects:
// an increment is one property store, cheap enough for every packet.

export const dropReasons = [
  'no_route', // TUN packet for a destination with no route
  'not_ip', // TUN packet that is neither IPv4 nor IPv6
  'bad_header', // datagram or inner packet too short or malformed
  'wrong_vni', // VXLAN datagram for another VNI
  'wrong_mac', // VXLAN frame not addressed to our VTEP MAC
  'oversize', // datagram larger than a receive slot
  'unknown_peer', // datagram from an address that is no peer of ours
  'not_local', // inner packet for an address outside this host's subnet, with no relay route
  'tun_write', // the kernel refused a TUN write (queue full or device down)
  'udp_send', // the kernel refused a datagram (send buffer full, no route)
  'io_error', // a read of the TUN or the socket failed
  'replay', // sealed datagram seen before, older than the replay window, or of an unknown key epoch
  'bad_seal', // sealed datagram that did not authenticate (forged, altered, or another password)
  'no_key', // sleeve datagram to or from a neighbour with no agreed keys, or plain where sealed is required
  'too_big', // packet larger than the path takes (ICMP fragmentation-needed or ICMPv6 packet-too-big goes back)
  'tun_offload', // TUN read the addon could not use: a super-packet it cannot cut, an unknown GSO type
  'link_scope', // IPv6 link-scope multicast from the TUN (the kernel's own listener reports): not for the overlay
] as const;

export type DropReason = (typeof dropReasons)[number];
export type DropCounters = Record<DropReason, number>;

export interface PathCounters {
  packets: number;
  bytes: number;
  batches: number;
}

export interface DataplaneCounters {
  /** TUN -> peers: inner packets sent, inner bytes. */
  tx: PathCounters;
  /** peers -> TUN: inner packets delivered, inner bytes. */
  rx: PathCounters;
  /** Packets received from one peer and passed on to another (mesh relay). */
  relayed: number;
  drops: DropCounters;
}

export function newCounters(): DataplaneCounters {
  const drops = Object.fromEntries(dropReasons.map((r) => [r, 0])) as DropCounters;
  return { tx: { packets: 0, bytes: 0, batches: 0 }, rx: { packets: 0, bytes: 0, batches: 0 }, relayed: 0, drops };
}

/** Traffic with one peer (by underlay address), kept across route changes. */
export interface PeerCounters {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
}

export function newPeerCounters(): PeerCounters {
  return { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0 };
}
