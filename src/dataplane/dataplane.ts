// The data path of one host: a TUN, a UDP socket, both directions of the
// packet path, and the state they read (routes, peers). The control plane
// changes that state through setRoute/deleteRoute; it never calls into a loop.
import type { Cidr } from '../net/ipv4.js';
import type { EncapCodec } from './codecs/codec.js';
import { newCounters, newPeerCounters, type PeerCounters } from './counters.js';
import type { HopAddress, NextHop } from './nextHop.js';
import { PeersToTun } from './peersToTun.js';
import { RouteTable } from './routeTable.js';
import { TunDevice } from './tunDevice.js';
import { TunToPeers } from './tunToPeers.js';
import { UdpEndpoint } from './udpEndpoint.js';

/** Room kept before every TUN packet for headers written in place. */
const HEADROOM = 64;
const BATCH_SIZE = 128;

export interface DataplaneOptions {
  tunName: string;
  codec: EncapCodec;
  listenAddress: string;
  port: number;
  localSubnet: Cidr;
  mtu: number;
  /** Pass packets for other subnets on along the routes (mesh mode). */
  relay: boolean;
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
  private readonly outbound: TunToPeers;
  private readonly inbound: PeersToTun;

  constructor(readonly options: DataplaneOptions) {
    // A slot holds the largest inner packet plus every header; anything longer is an oversize drop.
    const slotSize = align(HEADROOM + options.mtu + options.codec.overhead + 64, 64);
    this.tun = new TunDevice(options.tunName);
    try {
      this.udp = new UdpEndpoint(options.listenAddress, options.port);
    } catch (error) {
      this.tun.close();
      throw error;
    }
    this.outbound = new TunToPeers(this.tun, this.udp, options.codec, this.routes, this.counters, BATCH_SIZE, slotSize, HEADROOM);
    this.inbound = new PeersToTun(this.udp, this.tun, options.codec, this.peers, options.localSubnet, this.counters, options.relay ? this.routes : null, BATCH_SIZE, slotSize);
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
