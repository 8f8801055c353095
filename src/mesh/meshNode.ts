// The mesh's brain, free of I/O: what this peer knows and what it tells its
// neighbours (gossip, anti-entropy, unicast along next hops). Its host block
// is blockKeeper.ts's job. The TCP transport (tcpMesh.ts) and the in-memory
// simulator (simulation.ts) both drive it.
import type { PersistedIpam } from '../ipam/persistedIpam.js';
import type { Ring, RingState, Token } from '../ipam/ring.js';
import { blockCidr6 } from '../ipam/blocks.js';
import { formatHostPort } from '../net/hostPort.js';
import { formatCidr6 } from '../net/ipv6Cidr.js';
import { BlockKeeper } from './blockKeeper.js';
import { fnv1a } from './fnv1a.js';
import type { MeshEvents, MeshOptions } from './meshOptions.js';
import { MAX_UNICAST_HOPS, type MeshMessage, ringHash, type UnicastBody } from './messages.js';
import type { PeerInfo } from './peerInfo.js';
import { Topology } from './topology.js';

/** Addresses tried per peer learned by gossip. */
const DIAL_ADDRESSES = 4;

export interface MeshTransport {
  /** Sends to an established neighbour; dropped silently if it is gone. */
  send(neighbour: string, message: MeshMessage): void;
}

/** What a successor needs of this node's view (a takeover): every peer's info, ours included, the neighbours and where each was seen. */
export interface NodeHandover {
  peers: PeerInfo[];
  neighbours: [string, string][];
  lastSeenAt: [string, string][];
}

export type SelfDescription = Pick<PeerInfo, 'name' | 'nickname' | 'publicIp' | 'controlPort' | 'dataPort' | 'vtepMac'>;

export class MeshNode {
  readonly topology: Topology;
  private readonly blocks: BlockKeeper;
  /** Established neighbours, and the underlay address each is seen at. */
  private readonly neighbours = new Map<string, string>();
  /** Where each peer that was ever our neighbour was last seen: where to dial it again (kept until its info is forgotten). */
  private readonly lastSeenAt = new Map<string, string>();
  private me: PeerInfo;
  private lastChange: number;
  /** News waiting to be sent, per neighbour: the latest info of each peer, and ring tokens. */
  private readonly outbox = new Map<string, { peers: Map<string, PeerInfo>; tokens: Token[] }>();
  private flushScheduled = false;
  private readonly random: () => number;

  constructor(
    self: SelfDescription,
    persisted: PersistedIpam | null,
    private readonly transport: MeshTransport,
    private readonly now: () => number,
    private readonly later: (fn: () => void, ms: number) => void,
    readonly options: MeshOptions,
    private readonly events: MeshEvents,
  ) {
    this.random = options.random ?? Math.random;
    this.topology = new Topology(self.name);
    this.me = { ...self, version: 1, subnet: null, connections: [], connectionAddrs: [], departed: false };
    this.lastChange = now();
    this.topology.merge(this.me);
    this.blocks = new BlockKeeper(
      {
        name: self.name,
        topology: this.topology,
        neighbourCount: () => this.neighbours.size,
        lastChange: () => this.lastChange,
        reachablePeers: () => this.reachablePeers(),
        spreadTokens: (tokens) => this.spread([], tokens, null),
        sendUnicast: (to, body) => this.sendUnicast(to, body),
        setSubnet: (subnet, block) => this.updateSelf(options.space6 ? { subnet, subnet6: formatCidr6(blockCidr6(options.space6, block)) } : { subnet }),
        ringReplaced: () => {
          for (const box of this.outbox.values()) box.tokens = [];
        },
      },
      now,
      options,
      events,
    );
    if (persisted) this.blocks.restore(persisted);
  }

  get ring(): Ring | null {
    return this.blocks.ring;
  }

  get block(): number | null {
    return this.blocks.block;
  }

  get name(): string {
    return this.me.name;
  }

  get info(): PeerInfo {
    return this.me;
  }

  neighbourList(): string[] {
    return [...this.neighbours.keys()].sort();
  }

  /** A neighbour's control connection is up; `address` is where we see it on the underlay. */
  neighbourUp(name: string, address: string): void {
    if (this.neighbours.has(name)) return;
    this.neighbours.set(name, address);
    this.lastSeenAt.set(name, address);
    this.updateSelf(this.connectionsChange());
    // A newcomer gets everything we know at once; later it gets news.
    this.transport.send(name, { t: 'gossip', peers: [...this.topology.peers.values()], ring: this.ring?.state() ?? null });
  }

  neighbourDown(name: string): void {
    if (!this.neighbours.delete(name)) return;
    this.updateSelf(this.connectionsChange());
  }

  /** Publishes where a neighbour sees our UDP datagrams arrive from, and the NAT that suggests. */
  setUdpSeen(udpSeenAt: string | undefined, nat: PeerInfo['nat']): void {
    if (udpSeenAt === this.me.udpSeenAt && nat === this.me.nat) return;
    this.updateSelf({ udpSeenAt, nat });
  }

  private connectionsChange(): Pick<PeerInfo, 'connections' | 'connectionAddrs'> {
    const connections = this.neighbourList();
    return { connections, connectionAddrs: connections.map((n) => this.neighbours.get(n)!) };
  }

  /**
   * Where to dial each peer: the address it was given (`--public-ip`), where
   * we saw it if it was our neighbour, then each address a neighbour of it
   * sees it at, as weave learns them. At most DIAL_ADDRESSES a peer: a
   * forger's list of addresses is not worth a connection each. One pass over
   * every peer's connections.
   */
  addressBook(): Map<string, string[]> {
    const book = new Map<string, Set<string>>();
    const add = (name: string, address: string | null | undefined) => {
      if (!address) return;
      let found = book.get(name);
      if (!found) book.set(name, (found = new Set()));
      if (found.size < DIAL_ADDRESSES) found.add(address);
    };
    for (const info of this.topology.peers.values()) add(info.name, info.publicIp);
    // Ours: kept after the connection went (a stop saves the peers to dial after it, when our info lists none).
    for (const [name, address] of this.lastSeenAt) add(name, address);
    for (const other of this.topology.peers.values()) {
      if (other.departed) continue;
      other.connections.forEach((name, i) => add(name, other.connectionAddrs?.[i]));
    }
    return new Map([...book].map(([name, found]) => [name, [...found]]));
  }


  /** Publishes the DNS records this peer owns. */
  setDns(records: { name: string; ip: string }[]): void {
    const v6 = records.filter((r) => r.ip.includes(':'));
    this.updateSelf({ dns: records.filter((r) => !r.ip.includes(':')), dns6: v6.length ? v6 : undefined });
  }

  /** The DNS records of every reachable peer (not ours). */
  peerDns(): { name: string; ip: string }[] {
    return this.reachablePeers().filter((p) => !p.departed).flatMap((p) => [...(p.dns ?? []), ...(p.dns6 ?? [])]);
  }

  /** Sends the news still waiting, and returns the view a successor goes on with. */
  handover(): NodeHandover {
    if (this.flushScheduled) this.flush();
    return { peers: [...this.topology.peers.values()], neighbours: [...this.neighbours], lastSeenAt: [...this.lastSeenAt] };
  }

  /**
   * Goes on with a predecessor's view: the peers as it knew them, its
   * neighbours of those whose connections came along (`connected`), and our
   * own info one version on, so what it told about us stays the older
   * story. The neighbours knew all the rest already: nothing more is sent.
   */
  resume(state: NodeHandover, connected: ReadonlySet<string>): void {
    let before: PeerInfo | undefined;
    for (const info of state.peers) {
      if (info.name === this.me.name) before = info;
      else this.topology.merge(info);
    }
    for (const [name, address] of state.lastSeenAt) this.lastSeenAt.set(name, address);
    for (const [name, address] of state.neighbours) if (connected.has(name)) this.neighbours.set(name, address);
    this.updateSelf({ ...(before && { dns: before.dns, dns6: before.dns6, udpSeenAt: before.udpSeenAt, nat: before.nat }), ...this.connectionsChange() }, (before?.version ?? 0) + 1);
  }

  /** Graceful leave: tell everyone we are going, so they stop routing to us at once. */
  depart(): void {
    this.updateSelf({ departed: true, connections: [], connectionAddrs: [] });
  }

  receive(from: string, message: MeshMessage): void {
    switch (message.t) {
      case 'gossip':
        return this.onGossip(from, message.peers, message.ring);
      case 'digest':
        return this.onDigest(from, message);
      case 'unicast':
        return this.onUnicast(message);
    }
  }

  /** Periodic work: anti-entropy with one neighbour, getting a block, reclaiming dead peers' space. */
  tick(): void {
    const neighbours = this.neighbourList();
    if (neighbours.length > 0) {
      const to = neighbours[Math.floor(this.random() * neighbours.length)];
      this.transport.send(to, this.digest(false));
    }
    this.blocks.trackReachability();
    if (this.block === null) this.blocks.seekBlock();
    this.blocks.reclaim();
    this.forgetGone();
  }

  /**
   * Forgets the infos of peers unreachable for longer than reclaimAfterMs, so
   * that peers gone for good (or invented by a forger) do not pile up; their
   * space is reclaimed separately, from the ring.
   */
  private forgetGone(): void {
    const now = this.now();
    let forgot = false;
    for (const name of [...this.topology.peers.keys()]) {
      const since = this.blocks.unreachableSince(name);
      if (name === this.me.name || since === null || now - since < this.options.reclaimAfterMs) continue;
      this.topology.forget(name, now, now + this.options.reclaimAfterMs);
      this.lastSeenAt.delete(name);
      forgot = true;
    }
    if (forgot) this.topologyChanged();
  }

  persisted(): PersistedIpam | null {
    if (!this.ring) return null;
    const book = this.addressBook();
    const peers = [...this.topology.peers.values()]
      .filter((p) => p.name !== this.me.name && !p.departed)
      .flatMap((p) => (book.get(p.name) ?? []).map((a) => formatHostPort(a, p.controlPort)));
    return { ring: this.ring.state(), block: this.block, peers };
  }

  // --- gossip ---------------------------------------------------------------

  private onGossip(from: string, peers: PeerInfo[], ring: RingState | null): void {
    const news: PeerInfo[] = [];
    for (const info of peers) {
      if (info.name === this.me.name) {
        // Someone holds a newer story about us (we restarted): outbid it.
        if (info.version > this.me.version || (info.version === this.me.version && JSON.stringify(info) !== JSON.stringify(this.me))) {
          this.updateSelf({}, info.version + 1);
        }
        continue;
      }
      if (this.topology.merge(info)) news.push(info);
    }
    const ringNews = ring ? this.blocks.mergeRing(ring) : null;
    if (news.length > 0) this.topologyChanged();
    this.spread(news, ringNews?.tokens ?? [], from);
  }

  private onDigest(from: string, digest: Extract<MeshMessage, { t: 'digest' }>): void {
    const ours = this.digest(true);
    const theirs = digest.versions;
    const ringDiffers = ours.ring?.founder !== digest.ring?.founder || ours.ring?.hash !== digest.ring?.hash;
    if (theirs === null) {
      if (ours.peersHash !== digest.peersHash || ringDiffers) this.transport.send(from, ours);
      return;
    }
    const newer = [...this.topology.peers.values()].filter((p) => (theirs[p.name] ?? -1) < p.version);
    const ring = ringDiffers && this.ring ? this.ring.state() : null;
    if (newer.length > 0 || ring) this.transport.send(from, { t: 'gossip', peers: newer, ring });
    const theyKnowMore = Object.entries(theirs).some(([name, v]) => (ours.versions![name] ?? -1) < v);
    if (theyKnowMore) this.transport.send(from, ours);
  }

  private digest(full: boolean): MeshMessage & { t: 'digest' } {
    const versions: Record<string, number> = {};
    for (const p of this.topology.peers.values()) versions[p.name] = p.version;
    const ring = this.ring ? { founder: this.ring.founder, hash: ringHash(this.ring.state()) } : null;
    return { t: 'digest', peersHash: versionsHash(versions), versions: full ? versions : null, ring };
  }

  /**
   * Passes news on to a few neighbours — ln(n)+1, all of them in a small mesh —
   * so each peer sends O(log n) messages per piece of news; anti-entropy
   * catches whoever the epidemic missed. News for one neighbour is batched
   * for batchMs, so a burst of changes travels as one message.
   */
  private spread(peers: PeerInfo[], tokens: Token[], except: string | null): void {
    if (peers.length === 0 && tokens.length === 0) return;
    const targets = this.neighbourList().filter((n) => n !== except);
    const fanout = Math.max(3, Math.ceil(Math.log(this.topology.peers.size + 1)) + 1);
    for (const n of targets.length <= fanout ? targets : sample(targets, fanout, this.random)) {
      let box = this.outbox.get(n);
      if (!box) this.outbox.set(n, (box = { peers: new Map(), tokens: [] }));
      for (const p of peers) box.peers.set(p.name, p);
      box.tokens.push(...tokens);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.later(() => this.flush(), this.options.batchMs);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [n, box] of this.outbox) {
      const ring = box.tokens.length > 0 && this.ring ? { founder: this.ring.founder, blocks: this.ring.blocks, tokens: box.tokens } : null;
      this.transport.send(n, { t: 'gossip', peers: [...box.peers.values()], ring });
    }
    this.outbox.clear();
  }

  private updateSelf(change: Partial<PeerInfo>, atLeastVersion = 0): void {
    this.me = { ...this.me, ...change, version: Math.max(this.me.version + 1, atLeastVersion) };
    this.topology.merge(this.me);
    this.topologyChanged();
    this.spread([this.me], [], null);
  }

  private topologyChanged(): void {
    this.lastChange = this.now();
    this.events.routesChanged();
  }

  // --- the ring and our block -----------------------------------------------

  // --- unicast over the mesh -------------------------------------------------

  /** A message for one peer, passed along the next hops (hole punching's bodies; the block keeper's go the same way). */
  sendUnicast(to: string, body: UnicastBody): void {
    this.forwardUnicast({ t: 'unicast', to, from: this.me.name, hops: 0, body });
  }

  private forwardUnicast(message: MeshMessage & { t: 'unicast' }): void {
    const hop = this.topology.nextHops.get(message.to);
    if (hop === undefined || message.hops >= MAX_UNICAST_HOPS) return;
    this.transport.send(hop, { ...message, hops: message.hops + 1 });
  }

  private onUnicast(message: MeshMessage & { t: 'unicast' }): void {
    if (message.to !== this.me.name) return this.forwardUnicast(message);
    if (message.body.t === 'block-request') this.blocks.onBlockRequest(message.from);
    else if (message.body.t === 'block-refused') this.blocks.refused(message.from);
    else this.events.punch?.(message.from, message.body);
  }

  reachablePeers(): PeerInfo[] {
    return [...this.topology.nextHops.keys()].map((n) => this.topology.peers.get(n)!).filter(Boolean);
  }
}

function versionsHash(versions: Record<string, number>): number {
  return fnv1a(Object.keys(versions).sort().map((name) => `${name}=${versions[name]};`));
}

function sample<T>(items: T[], n: number, random: () => number): T[] {
  const copy = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}
