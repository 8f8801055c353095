// What every direction of the packet path reads: one object, owned by
// Dataplane and changed only by the control plane between batches.
import type { Cidr } from '../net/ipv4.js';
import type { DataplaneCounters, PeerCounters } from './counters.js';
import type { NextHop } from './nextHop.js';
import type { RouteTable } from './routeTable.js';
import type { ProbeSink } from './probeDatagram.js';
import type { PeerCrypto } from './sleeve/peerCrypto.js';

export interface PathState {
  /** Where packets for remote subnets go. */
  readonly routes: RouteTable<NextHop>;
  /** Underlay addresses datagrams are accepted from, with their counters. */
  readonly peers: ReadonlyMap<number, PeerCounters>;
  /** Sealed sleeve: data keys by neighbour endpoint (nextHop.ts's endpointKey); null: datagrams in the clear. */
  readonly keys: ReadonlyMap<number, PeerCrypto> | null;
  /** Received packets for this subnet go to the TUN. */
  readonly localSubnet: Cidr;
  /** Received packets for other subnets are passed on (mesh mode), or dropped (null). */
  readonly relayRoutes: RouteTable<NextHop> | null;
  readonly counters: DataplaneCounters;
  /** Where probes of the UDP path go (mesh mode); until a mode takes them, they count as `bad_header`. */
  probes: ProbeSink;
}
