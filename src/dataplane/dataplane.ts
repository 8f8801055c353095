// The data path of one host: a TUN, a UDP socket, both directions of the
// packet path, and the state they read (routes, peers). The control plane
// changes that state through setRoute/deleteRoute; it never calls into a loop.
import type { Cidr } from '../net/ipv4.js';
import type { DirectionKeys } from '../crypto/sessionKeys.js';
import type { EncapCodec } from './codecs/codec.js';
import { newCounters, newPeerCounters, type PeerCounters } from './counters.js';
import type { HopAddress, NextHop } from './nextHop.js';
import { PeersToTun } from './peersToTun.js';
import { RouteTable } from './routeTable.js';
import { DatagramAssembler } from './sleeve/datagramAssembler.js';
import { DEFAULT_REKEY_AFTER, PeerCrypto } from './sleeve/peerCrypto.js';
import { SleeveToTun } from './sleeve/sleeveToTun.js';
import { TunToSleeve } from './sleeve/tunToSleeve.js';
import { TooBigReplies } from './tooBigReplies.js';
import { TunDevice } from './tunDevice.js';
import { TunToPeers } from './tunToPeers.js';
import { UdpEndpoint } from './udpEndpoint.js';

/** Room kept before every TUN packet for headers written in place. */
const HEADROOM = 64;
const BATCH_SIZE = 128;
/** With offloads a TUN read may bring a super-packet of up to 128 segments: room for one and more. */
const OFFLOAD_BATCH_SIZE = 256;

/** A header per packet (udp, vxlan), or packets packed into sleeve datagrams. */
export type Encapsulation =
  | { kind: 'codec'; codec: EncapCodec }
  | {
      kind: 'sleeve';
      /** Datagrams sealed with per-neighbour keys (a password is set). */
      sealed: boolean;
      /** UDP payload bytes a datagram may take on the underlay. */
      datagramMax: number;
      rekeyAfter?: number;
    };

/** Datagrams sent out of one readiness callback before they go to the kernel. */
const SLEEVE_DATAGRAMS = 64;

export interface DataplaneOptions {
  tunName: string;
  encap: Encapsulation;
  listenAddress: string;
  port: number;
  localSubnet: Cidr;
  mtu: number;
  /** Pass packets for other subnets on along the routes (mesh mode). */
  relay: boolean;
  /** TUN TSO/checksum offload with virtio-net headers, UDP GSO and GRO. */
  offload: boolean;
}

export class Dataplane {
  readonly routes = new RouteTable<NextHop>();
  /** Underlay addresses datagrams are accepted from, with their counters. */
  readonly peers = new Map<number, PeerCounters>();
  /** Counters of every peer ever seen, so they survive route changes. */
  readonly peerCounters = new Map<number, PeerCounters>();
  readonly counters = newCounters();
  readonly tun: TunDevice;
  readonly udp: UdpEndpoint;
  /** Sealed sleeve: data keys by neighbour address, set as control connections agree them. */
  readonly keys: Map<number, PeerCrypto> | null;
  private readonly outbound: { drain(): void };
  private readonly inbound: { drain(): void };
  private readonly rekeyAfter: number;

  constructor(readonly options: DataplaneOptions) {
    const encap = options.encap;
    this.keys = encap.kind === 'sleeve' && encap.sealed ? new Map() : null;
    this.rekeyAfter = (encap.kind === 'sleeve' && encap.rekeyAfter) || DEFAULT_REKEY_AFTER;
    this.tun = new TunDevice(options.tunName, { offload: options.offload }, this.counters.drops);
    try {
      this.udp = new UdpEndpoint(options.listenAddress, options.port, options.offload);
    } catch (error) {
      this.tun.close();
      throw error;
    }
    const relayRoutes = options.relay ? this.routes : null;
    const batchSize = options.offload ? OFFLOAD_BATCH_SIZE : BATCH_SIZE;
    if (encap.kind === 'codec') {
      // A slot holds the largest inner packet plus every header; anything longer is an oversize drop.
      const slotSize = align(HEADROOM + options.mtu + encap.codec.overhead + 64, 64);
      this.outbound = new TunToPeers(this.tun, this.udp, encap.codec, this.routes, this.counters, batchSize, slotSize, HEADROOM);
      this.inbound = new PeersToTun(this.udp, this.tun, encap.codec, this.peers, options.localSubnet, this.counters, relayRoutes, batchSize, slotSize);
    } else {
      // TUN slots take what the device MTU lets in; receive slots the largest datagram a peer may send.
      const tunSlot = align(options.mtu + 64, 64);
      const udpSlot = align(Math.max(encap.datagramMax, options.mtu) + 64, 64);
      const assembler = (role: 'tx' | 'relay') => new DatagramAssembler(this.udp, this.counters, role, this.keys, SLEEVE_DATAGRAMS, encap.datagramMax);
      const tooBig = new TooBigReplies(this.tun, this.counters.drops);
      this.outbound = new TunToSleeve(this.tun, assembler('tx'), tooBig, this.routes, this.counters, batchSize, tunSlot);
      this.inbound = new SleeveToTun(this.udp, this.tun, this.peers, this.keys, options.localSubnet, this.counters, relayRoutes, assembler('relay'), tooBig, batchSize, udpSlot);
    }
  }

  /**
   * Sets the data keys of every neighbour by address. Keys already installed
   * keep their state: starting their counters again would reuse nonces.
   */
  replaceKeys(keys: ReadonlyMap<number, DirectionKeys>): void {
    if (this.keys === null) return;
    for (const [addr, crypto] of this.keys) if (keys.get(addr) !== crypto.base) this.keys.delete(addr);
    for (const [addr, k] of keys) if (!this.keys.has(addr)) this.keys.set(addr, new PeerCrypto(k, this.rekeyAfter));
  }

  start(): void {
    this.tun.onReadable(this.outbound.drain);
    this.udp.onReadable(this.inbound.drain);
  }

  setRoute(cidr: Cidr, hop: HopAddress): void {
    this.routes.set(cidr, this.withCounters(hop));
    this.refreshPeers();
  }

  deleteRoute(cidr: Cidr): void {
    this.routes.delete(cidr);
    this.refreshPeers();
  }

  /**
   * Replaces every route at once (mesh mode recomputes them all), and the
   * underlay addresses datagrams are accepted from: every reachable peer,
   * since a relay's packets come from the relay.
   */
  replaceRoutes(routes: { cidr: Cidr; hop: HopAddress }[], peerAddrs: Iterable<number>): void {
    for (const r of [...this.routes.entries()]) this.routes.delete(r.cidr);
    for (const r of routes) this.routes.set(r.cidr, this.withCounters(r.hop));
    this.peers.clear();
    for (const a of peerAddrs) this.peers.set(a, this.countersFor(a));
  }

  close(): void {
    this.tun.close();
    this.udp.close();
  }

  private refreshPeers(): void {
    this.peers.clear();
    for (const route of this.routes.entries()) this.peers.set(route.target.addr, route.target.counters);
  }

  private countersFor(addr: number): PeerCounters {
    let c = this.peerCounters.get(addr);
    if (!c) this.peerCounters.set(addr, (c = newPeerCounters()));
    return c;
  }

  private withCounters(hop: HopAddress): NextHop {
    return { addr: hop.addr, port: hop.port, vtepMac: hop.vtepMac, counters: this.countersFor(hop.addr) };
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
