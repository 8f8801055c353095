// One host's subnet, shared by the two things that hand out its addresses:
// the CNI plugin's host-local (lower half) and the Docker plugin's IPAM
// (upper half). Both attach to the same bridge, so neither may hand out an
// address the other could; the split needs no lock between two processes.
import { type Cidr, cidrHost } from '../net/ipv4.js';

/** First and last address (inclusive) one of them may hand out. */
export interface AddressRange {
  first: number;
  last: number;
}

export interface HostShares {
  /** .1: the bridge's, the containers' gateway. */
  gateway: number;
  cni: AddressRange;
  docker: AddressRange;
}

export function hostShares(subnet: Cidr): HostShares {
  const size = 2 ** (32 - subnet.len);
  const half = Math.max(2, size / 2);
  return {
    gateway: cidrHost(subnet, 1),
    cni: { first: cidrHost(subnet, 2), last: cidrHost(subnet, half - 1) },
    // The last address is the broadcast.
    docker: { first: cidrHost(subnet, half), last: cidrHost(subnet, Math.max(half, size - 2)) },
  };
}
