// Where packets for a remote subnet go on the underlay.

export interface NextHop {
  /** Underlay IPv4 address (host order) and UDP port of the peer. */
  readonly addr: number;
  readonly port: number;
  /** The peer's VTEP MAC (vxlan backend); null for backends that carry no Ethernet header. */
  readonly vtepMac: Buffer | null;
}
