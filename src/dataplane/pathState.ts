// What every direction of the packet path reads: one object, owned by
// Dataplane and changed only by the control plane between batches.
import type { DataplaneCounters, PeerCounters } from './counters.js';
import type { NextHop } from './nextHop.js';
import type { LocalSubnets } from './localSubnets.js';
import type { Routes } from './routes.js';
import type { ProbeSink } from './probeDatagram.js';
import type { PeerCrypto } from './sleeve/peerCrypto.js';

export interface PathState {
  /** Where packets for remote subnets go. */
  readonly routes: Routes<NextHop>;
  /** Underlay addresses datagrams are accepted from, with their counters. */
  readonly peers: ReadonlyMap<number, PeerCounters>;
  /** Sealed sleeve: data keys by neighbour endpoint (nextHop.ts's endpointKey); null: datagrams in the clear. */
  readonly keys: ReadonlyMap<number, PeerCrypto> | null;
  /** Received packets for this subnet go to the TUN. */
  readonly localSubnets: LocalSubnets;
  /** Received packets for other subnets are passed on (mesh mode), or dropped (null). */
  readonly relayRoutes: Routes<NextHop> | null;
  readonly counters: DataplaneCounters;
  /** Where probes of the UDP path go (mesh mode); until a mode takes them, they count as `bad_header`. */
  probes: ProbeSink;
}
