// The data path of one host: both directions of the packet path over a TUN
// and an underlay endpoint, and the state they read (routes, peers, keys).
// The control plane changes that state through the methods below, between
// batches; it never calls into a loop, and reads it back as a snapshot.
import type { DirectionKeys } from '../crypto/sessionKeys.js';
import type { AnyCidr } from '../net/cidr.js';
import type { Cidr } from '../net/ipv4.js';
import type { Cidr6 } from '../net/ipv6Cidr.js';
import type { EncapCodec } from './codecs/codec.js';
import { type DataplaneCounters, newCounters, newPeerCounters, type PeerCounters } from './counters.js';
import { endpointKey, type HopAddress, type NextHop } from './nextHop.js';
import { align, PacketBatch } from './packetBatch.js';
import { PROBE_BYTES, type ProbeSink } from './probeDatagram.js';
import type { PathState } from './pathState.js';
import { PeersToTun } from './peersToTun.js';
import type { TunPort, UnderlayPort } from './ports.js';
import { LocalSubnets } from './localSubnets.js';
import { Routes } from './routes.js';
import { DatagramAssembler } from './sleeve/datagramAssembler.js';
import { type CryptoHandover, DEFAULT_REKEY_AFTER, PeerCrypto } from './sleeve/peerCrypto.js';
import { formatHostPort } from '../net/hostPort.js';
import { formatUnderlay } from '../net/underlayAddress.js';
import { SleeveToTun } from './sleeve/sleeveToTun.js';
import { TunToSleeve } from './sleeve/tunToSleeve.js';
import { TooBigReplies } from './tooBigReplies.js';
import { TunToPeers } from './tunToPeers.js';

/** Room kept before every TUN packet for headers written in place. */
const HEADROOM = 64;
const BATCH_SIZE = 128;
/** With offloads a TUN read may bring a super-packet of up to 128 segments: room for one and more. */
const OFFLOAD_BATCH_SIZE = 256;
/** Datagrams sent out of one readiness callback before they go to the kernel. */
const SLEEVE_DATAGRAMS = 64;

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

export interface DataplaneOptions {
  encap: Encapsulation;
  localSubnet: Cidr;
  /** This host's IPv6 subnet (dual stack); null or absent: IPv4 only, received IPv6 packets are relayed or dropped. */
  localSubnet6?: Cidr6 | null;
  mtu: number;
  /** Pass packets for other subnets on along the routes (mesh mode). */
  relay: boolean;
}

/** The state of the data path as plain data, for status and metrics. */
export interface DataplaneSnapshot {
  tun: string;
  port: number;
  /** TUN TSO/checksum offload with UDP GSO/GRO in use. */
  offload: boolean;
  routes: { cidr: AnyCidr; addr: number; port: number; vtepMac: Buffer | null }[];
  counters: DataplaneCounters;
  /** Every peer ever seen, by underlay address. */
  peers: { addr: number; counters: PeerCounters }[];
  /** Sealed sleeve: each keyed neighbour's epochs and counter; null: datagrams in the clear. */
  neighbours: { addr: number; port: number; txEpoch: number; txCounter: number; rxEpoch: number }[] | null;
}

export class Dataplane {
  private readonly routes = new Routes<NextHop>();
  private readonly peers = new Map<number, PeerCounters>();
  /** Next hops by endpoint and MAC (withCounters): those the routes use, so a NAT's changing ports leave none behind. */
  private readonly hops = new Map<string, NextHop>();
  /** Counters of every peer ever seen, so they survive route changes. */
  private readonly peerCounters = new Map<number, PeerCounters>();
  private readonly keys: Map<number, PeerCrypto> | null;
  private readonly counters = newCounters();
  private readonly outbound: { drain(): void };
  private readonly inbound: { drain(): void };
  private readonly rekeyAfter: number;
  private readonly path: PathState;
  /** One slot for a probe sent by the control plane, between batches. */
  private readonly probeOut: PacketBatch;

  constructor(
    options: DataplaneOptions,
    private readonly tun: TunPort,
    private readonly udp: UnderlayPort,
  ) {
    const encap = options.encap;
    this.keys = encap.kind === 'sleeve' && encap.sealed ? new Map() : null;
    this.rekeyAfter = (encap.kind === 'sleeve' && encap.rekeyAfter) || DEFAULT_REKEY_AFTER;
    const path: PathState = {
      routes: this.routes,
      peers: this.peers,
      keys: this.keys,
      localSubnets: new LocalSubnets(options.localSubnet, options.localSubnet6 ?? null),
      relayRoutes: options.relay ? this.routes : null,
      counters: this.counters,
      probes: () => void this.counters.drops.bad_header++,
    };
    this.path = path;
    this.probeOut = new PacketBatch(1, PROBE_BYTES, 0);
    const batchSize = tun.offload ? OFFLOAD_BATCH_SIZE : BATCH_SIZE;
    if (encap.kind === 'codec') {
      // A slot holds the largest inner packet plus every header; anything longer is an oversize drop.
      const slotSize = align(HEADROOM + options.mtu + encap.codec.overhead + 64, 64);
      this.outbound = new TunToPeers(path, tun, udp, encap.codec, { size: batchSize, slotSize, headroom: HEADROOM });
      this.inbound = new PeersToTun(path, udp, tun, encap.codec, { batch: batchSize, maxDatagram: slotSize, mtu: options.mtu });
    } else {
      // TUN slots take what the device MTU lets in; receive slots the largest datagram a peer may send.
      const tunSlot = align(options.mtu + 64, 64);
      const udpSlot = align(Math.max(encap.datagramMax, options.mtu) + 64, 64);
      const assembler = (role: 'tx' | 'relay') => new DatagramAssembler(path, udp, role, SLEEVE_DATAGRAMS, encap.datagramMax);
      const tooBig = new TooBigReplies(tun, this.counters.drops);
      this.outbound = new TunToSleeve(path, tun, udp, assembler('tx'), tooBig, { size: batchSize, slotSize: tunSlot });
      this.inbound = new SleeveToTun(path, udp, tun, assembler('relay'), tooBig, batchSize, udpSlot);
    }
  }

  /** The TUN device's name, as the kernel gave it. */
  get tunName(): string {
    return this.tun.name;
  }

  /** The UDP port datagrams arrive at. */
  get port(): number {
    return this.udp.port;
  }

  get routeCount(): number {
    return this.routes.size;
  }

  start(): void {
    this.tun.onReadable(this.outbound.drain);
    this.udp.onReadable(this.inbound.drain);
  }

  /** No more reading (a takeover in progress); `start` again goes on. */
  stop(): void {
    this.tun.stopPolling();
    this.udp.stopPolling();
  }

  close(): void {
    this.tun.close();
    this.udp.close();
  }

  /** The descriptors a successor is handed: the TUN's, then the UDP socket's. */
  get fds(): number[] {
    return [this.tun.fd, this.udp.fd];
  }

  /** Each keyed neighbour's epochs, by its endpoint ("ip:port"). */
  cryptoHandover(): { endpoint: string; state: CryptoHandover }[] {
    return this.keys === null ? [] : [...this.keys].map(([key, k]) => ({ endpoint: endpointText(key), state: k.handover() }));
  }

  /** A predecessor's epochs for the neighbours keyed here (replaceKeys first). */
  resumeCrypto(states: readonly { endpoint: string; state: CryptoHandover }[]): void {
    if (this.keys === null) return;
    const byEndpoint = new Map(states.map((s) => [s.endpoint, s.state]));
    for (const [key, k] of this.keys) {
      const from = byEndpoint.get(endpointText(key));
      if (from) k.resume(from);
    }
  }

  /** Where received probes of the UDP path go (mesh mode). */
  onProbe(sink: ProbeSink): void {
    this.path.probes = sink;
  }

  /**
   * Sends one probe from the data socket (its NAT mapping is the one
   * probed); false if the kernel refused it. With `ttl`, it dies that many
   * routers out: far enough to open our NAT, not far enough to reach theirs.
   */
  sendProbe(probe: Buffer, addr: number, port: number, ttl: number | null = null): boolean {
    const out = this.probeOut;
    probe.copy(out.slab, 0, 0, PROBE_BYTES);
    out.outOffsets[0] = 0;
    out.outLengths[0] = PROBE_BYTES;
    out.addrs[0] = addr;
    out.ports[0] = port;
    // Between batches, on the one thread: no data datagram leaves with this TTL.
    if (ttl !== null) this.udp.setTtl(ttl);
    try {
      return this.udp.send(out, 1) === 1;
    } finally {
      if (ttl !== null) this.udp.setTtl(null);
    }
  }

  setRoute(cidr: AnyCidr, hop: HopAddress): void {
    this.routes.set(cidr, this.withCounters(hop));
    this.refreshPeers();
  }

  deleteRoute(cidr: AnyCidr): void {
    this.routes.delete(cidr);
    this.refreshPeers();
    this.pruneHops();
  }

  /**
   * Replaces every route at once (mesh mode recomputes them all), and the
   * underlay addresses datagrams are accepted from: every reachable peer,
   * since a relay's packets come from the relay.
   */
  replaceRoutes(routes: { cidr: AnyCidr; hop: HopAddress }[], peerAddrs: Iterable<number>): void {
    this.routes.clear();
    for (const r of routes) this.routes.set(r.cidr, this.withCounters(r.hop));
    this.pruneHops();
    this.peers.clear();
    for (const a of peerAddrs) this.peers.set(a, this.countersFor(a));
  }

  /**
   * Sets the data keys of every neighbour by endpoint (endpointKey). Keys already installed
   * keep their state: starting their counters again would reuse nonces. A
   * neighbour known at several endpoints has one state for them all, so a
   * datagram replayed from another of them is still a replay.
   */
  replaceKeys(keys: ReadonlyMap<number, DirectionKeys>): void {
    if (this.keys === null) return;
    const states = new Map<DirectionKeys, PeerCrypto>();
    for (const crypto of this.keys.values()) states.set(crypto.base, crypto);
    this.keys.clear();
    for (const [endpoint, k] of keys) {
      let crypto = states.get(k);
      if (!crypto) states.set(k, (crypto = new PeerCrypto(k, this.rekeyAfter)));
      this.keys.set(endpoint, crypto);
    }
  }

  snapshot(): DataplaneSnapshot {
    const c = this.counters;
    return {
      tun: this.tun.name,
      port: this.udp.port,
      offload: this.tun.offload,
      routes: [...this.routes.entries()].map((r) => ({ cidr: r.cidr, addr: r.target.addr, port: r.target.port, vtepMac: r.target.vtepMac })),
      counters: { tx: { ...c.tx }, rx: { ...c.rx }, relayed: c.relayed, drops: { ...c.drops } },
      peers: [...this.peerCounters].map(([addr, counters]) => ({ addr, counters: { ...counters } })),
      neighbours: this.keys === null ? null : [...this.keys].map(([endpoint, k]) => ({ addr: Math.floor(endpoint / 65536), port: endpoint % 65536, txEpoch: k.txEpoch, txCounter: k.txCounter, rxEpoch: k.rx.epoch })),
    };
  }

  private refreshPeers(): void {
    this.peers.clear();
    for (const route of this.routes.entries()) this.peers.set(route.target.addr, route.target.counters);
  }

  /** Between batches: no direction holds a hop then (the sleeve's datagrams are flushed at each batch's end). */
  private pruneHops(): void {
    const used = new Set<NextHop>();
    for (const r of this.routes.entries()) used.add(r.target);
    for (const [key, hop] of this.hops) if (!used.has(hop)) this.hops.delete(key);
  }

  private countersFor(addr: number): PeerCounters {
    let c = this.peerCounters.get(addr);
    if (!c) this.peerCounters.set(addr, (c = newPeerCounters()));
    return c;
  }

  /**
   * The one NextHop object for an address, port and MAC: routes of both
   * families (and several subnets) to one peer share it, so the sleeve packs
   * their packets into one datagram, in the order they came.
   */
  private withCounters(hop: HopAddress): NextHop {
    const key = `${endpointKey(hop.addr, hop.port)}/${hop.vtepMac?.toString('hex') ?? ''}`;
    let shared = this.hops.get(key);
    if (!shared) this.hops.set(key, (shared = { addr: hop.addr, port: hop.port, vtepMac: hop.vtepMac, counters: this.countersFor(hop.addr) }));
    return shared;
  }
}

function endpointText(key: number): string {
  return formatHostPort(formatUnderlay(Math.floor(key / 65536)), key % 65536);
}
