// Where packets for a remote subnet go on the underlay.

import type { PeerCounters } from './counters.js';

export interface HopAddress {
  /** Underlay IPv4 address (host order) and UDP port of the peer. */
  readonly addr: number;
  readonly port: number;
  /** The peer's VTEP MAC (vxlan backend); null for backends that carry no Ethernet header. */
  readonly vtepMac: Buffer | null;
}

/** A hop as the packet path holds it: with the counters of the peer at that address. */
export interface NextHop extends HopAddress {
  readonly counters: PeerCounters;
}

/**
 * One number for an address and port (48 bits: exact in a double), keying
 * the sealed path's keys: neighbours behind one NAT share its address, and
 * only their ports tell them apart.
 */
export function endpointKey(addr: number, port: number): number {
  return addr * 65536 + port;
}
