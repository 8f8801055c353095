// One host's subnet, shared by the two things that hand out its addresses:
// the CNI plugin's host-local (lower half) and the Docker plugin's IPAM
// (upper half). Both attach to the same bridge, so neither may hand out an
// address the other could; the split needs no lock between two processes.
import { type Cidr, cidrHost } from '../net/ipv4.js';
import { formatIPv6 } from '../net/ipv6.js';
import { bytesOf, type Cidr6, cidr6OfValue, ipv6Value } from '../net/ipv6Cidr.js';

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

/** The same split of an IPv6 subnet, as address texts: no broadcast address to keep out. */
export interface HostShares6 {
  gateway: string;
  cni: { first: string; last: string };
  docker: { first: string; last: string };
}

export function hostShares6(subnet: Cidr6): HostShares6 {
  const base = ipv6Value(subnet.words);
  const size = 1n << BigInt(128 - subnet.len);
  const half = size / 2n;
  const at = (n: bigint) => formatIPv6(bytesOf(cidr6OfValue(base + n, 128).words));
  return { gateway: at(1n), cni: { first: at(2n), last: at(half - 1n) }, docker: { first: at(half), last: at(size - 1n) } };
}
