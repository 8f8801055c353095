// The UDP path to each peer we send to directly: where its datagrams really
// come from, which is where ours must go. Behind a NAT that is the NAT's
// mapping of its data socket, which neither end can know in advance; so each
// end tells the other an id and a key, and every PROBE_MS the other sends a
// probe (udpProbe.ts) from its data socket. A probe that authenticates moves
// the peer's endpoint to where it came from, and its being sent keeps the
// NAT's mapping open. Each end tells the other where its probes arrive from
// ('seen-at'): that is how a peer learns the NAT it is behind (natKind.ts).
//
// Two kinds of path. A neighbour's: the id and key go over the control
// connection, the first probes to where the connection comes from. A punched
// one, to a peer we reach only through relays: the id and key (and, with a
// password, an ephemeral key for data keys of the pair) go along the mesh
// as a unicast, and both ends probe the endpoint the other's neighbours see
// it at. Two endpoint-independent NATs let the probes through once both have
// sent (each one's outgoing probe opens its NAT to the other's); a symmetric
// NAT maps the probes anew, they never arrive, and traffic stays relayed.
import { randomBytes, randomInt } from 'node:crypto';
import { type KeyPair, newKeyPair } from '../crypto/nacl.js';
import { type DirectionKeys, sessionKeys } from '../crypto/sessionKeys.js';
import { endpointAddress, formatHostPort, parseHostPort } from '../net/hostPort.js';
import { formatUnderlay, PEER6_UNKNOWN, underlayHandle } from '../net/underlayAddress.js';
import type { LinkMessage, PunchBody } from './messages.js';
import { natKind } from './natKind.js';
import type { NatKind } from './peerInfo.js';
import { encodeProbe, openProbe, PROBE_KEY_BYTES, probeId } from './udpProbe.js';

/** Probes per path: often enough to follow a changed NAT mapping within seconds, and to keep one open. */
export const PROBE_MS = 2000;
/** A path whose probes stopped for this long is silent: a punched one is given up for the relay. */
const SILENT_AFTER_MS = 3 * PROBE_MS + 1000;
/** Punched paths held at once: each costs a probe per PROBE_MS. */
export const MAX_PUNCHED = 64;
/**
 * The TTL of the probe that opens our NAT before a punch: it passes our NAT
 * and the router after it, and dies before it can reach the other NAT. Had
 * it arrived there first, that NAT would keep it as a connection of its own
 * and map the other peer's probes to us at another port (Linux's conntrack
 * does), so neither end's probes would ever match the other's mapping.
 */
export const OPENING_TTL = 2;

export interface Endpoint {
  addr: number;
  port: number;
}

interface Link {
  kind: 'neighbour' | 'punch';
  /** Neighbour: where its control connection comes from. */
  connectionIp: string | null;
  /**
   * Whether we probe before we heard from it: a neighbour we dialled, or a
   * punch. A neighbour that dialled us may be behind a NAT: a probe to its
   * guessed endpoint would be held there as a connection of its own, and
   * its NAT would map its data socket to another port. It probes first.
   */
  probesFirst: boolean;
  /** What its probes to us carry: ours to choose. */
  rxId: number;
  rxKey: Buffer;
  lastCounter: bigint;
  /** What our probes to it carry, once it told us. */
  txId: number | null;
  txKey: Buffer | null;
  /** Where its last authenticated probe came from, and when. */
  learned: Endpoint | null;
  lastProbeAt: number | null;
  /** Whether the last tick found it alive (a change reroutes). */
  wasAlive: boolean;
  /** When we last sent it one; and a punch offer. */
  probedAt: number | null;
  offeredAt: number | null;
  /** Where it says our probes come from. */
  seenAt: string | null;
  /** Punch: where its neighbours see it, as its offer said. */
  offered: Endpoint | null;
  /** Punch with a password: our ephemeral key pair, and the data keys once its key is known. */
  keyPair: KeyPair | null;
  theirPublicKey: string | null;
  dataKeys: DirectionKeys | null;
}

/** A path as a successor goes on with it (a takeover): endpoints as text, since underlay handles are per process. */
export interface LinkHandover extends Omit<Link, 'learned' | 'offered'> {
  peer: string;
  learned: string | null;
  offered: string | null;
}

export interface PathsHandover {
  links: LinkHandover[];
  udpSeenAt: string | null;
  nat: NatKind | null;
}

export interface UdpPathsIo {
  sendMessage(peer: string, message: LinkMessage): void;
  /** Along the mesh, to a peer that is no neighbour. */
  sendUnicast(peer: string, body: PunchBody): void;
  /** From the data socket, with the system's TTL or `ttl`; dropped until the data plane is up. */
  sendProbe(probe: Buffer, addr: number, port: number, ttl?: number): void;
  /** What the peer gossips of its ports and addresses; null until its info arrived. */
  peerInfo(peer: string): { dataPort: number; publicIp: string | null; udpSeenAt: string | null } | null;
  localAddrs(): ReadonlySet<string>;
  dataPort: number;
  /** The mesh secret: punched paths get data keys of their own. */
  password: Buffer | null;
  now(): number;
  /** An endpoint moved, or a punched path opened or went silent: routes and keys must follow. */
  endpointsChanged(): void;
  /** What our neighbours see of us changed. */
  natChanged(udpSeenAt: string | undefined, nat: NatKind | undefined): void;
  log(level: 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
}

export interface ProbeCounters {
  sent: number;
  received: number;
  /** Refused: no path has the id, the tag is wrong, or the counter is not new. */
  unknownId: number;
  badTag: number;
  replayed: number;
  /** Punch offers refused: too many punched paths, or a weak key. */
  punchRefused: number;
}

export interface UdpPathStatus {
  peer: string;
  kind: 'neighbour' | 'punch';
  endpoint: string | null;
  /** The endpoint came from its probes (else: a guess, from its connection or its gossip). */
  probed: boolean;
  /** Probes from it arrived within the last few intervals. */
  alive: boolean;
  seenAt: string | null;
}

export class UdpPaths {
  private readonly links = new Map<string, Link>();
  private readonly byId = new Map<number, { peer: string; link: Link }>();
  private counter = BigInt(Date.now()) << 16n;
  readonly counters: ProbeCounters = { sent: 0, received: 0, unknownId: 0, badTag: 0, replayed: 0, punchRefused: 0 };
  private reported: { udpSeenAt: string | undefined; nat: NatKind | undefined } = { udpSeenAt: undefined, nat: undefined };

  constructor(
    private readonly self: string,
    private readonly io: UdpPathsIo,
  ) {}

  /** A neighbour's control connection is up (a punched path to it is superseded); `outbound`: we dialled it. */
  up(peer: string, connectionIp: string, outbound: boolean): void {
    const link = this.open(peer, 'neighbour', connectionIp, outbound);
    this.io.sendMessage(peer, { t: 'probe-key', id: link.rxId, key: link.rxKey.toString('base64') });
  }

  down(peer: string): void {
    const link = this.links.get(peer);
    if (!link || link.kind !== 'neighbour') return;
    this.close(peer, link);
  }

  message(peer: string, message: LinkMessage): void {
    const link = this.links.get(peer);
    if (!link || link.kind !== 'neighbour') return;
    if (message.t === 'probe-key') {
      link.txId = message.id;
      link.txKey = Buffer.from(message.key, 'base64');
      this.probe(peer, link);
    } else {
      this.seen(link, message.endpoint);
    }
  }

  /**
   * The peers reachable only through relays, that a direct path may be
   * punched to: opens one to each (the lower name of a pair offers; the
   * other answers), and closes those to peers no longer in the list.
   */
  punchTo(peers: readonly string[]): void {
    const wanted = new Set(peers);
    for (const [peer, link] of this.links) if (link.kind === 'punch' && !wanted.has(peer)) this.close(peer, link);
    const ours = this.reported.udpSeenAt;
    for (const peer of peers) {
      if (ours === undefined || this.links.has(peer) || this.self > peer || this.punchedCount() >= MAX_PUNCHED) continue;
      const link = this.open(peer, 'punch', null, true);
      this.openNat(peer, link);
      this.offer(peer, link, false);
    }
  }

  /** A peer's offer of a direct path, or its answer to ours. */
  punchMessage(peer: string, body: PunchBody): void {
    let link = this.links.get(peer);
    if (link?.kind === 'neighbour') return;
    if (!link) {
      if (body.reply || this.punchedCount() >= MAX_PUNCHED || this.reported.udpSeenAt === undefined) {
        this.counters.punchRefused++;
        return;
      }
      link = this.open(peer, 'punch', null, true);
    }
    link.offered = endpointOf(body.endpoint);
    // Our NAT opens towards it before we answer: once our answer is there, its probes may come.
    if (!body.reply) this.openNat(peer, link);
    link.txId = body.id;
    link.txKey = Buffer.from(body.key, 'base64');
    if (link.keyPair && body.publicKey && body.publicKey !== link.theirPublicKey) {
      try {
        link.dataKeys = sessionKeys(link.keyPair, Buffer.from(body.publicKey, 'base64'), this.io.password!).data;
        link.theirPublicKey = body.publicKey;
      } catch {
        this.counters.punchRefused++;
        return this.close(peer, link);
      }
      // Its probes may have come before its keys did (they go direct, this along the mesh): the path opens now.
      if (this.alive(link)) this.io.endpointsChanged();
    }
    if (!body.reply) this.offer(peer, link, true);
    this.probe(peer, link);
  }

  /** Where to send a neighbour's datagrams, and whose datagrams to take: its probed endpoint, else the guess from its connection. */
  endpoint(peer: string): Endpoint | null {
    const link = this.links.get(peer);
    if (!link || link.kind !== 'neighbour') return null;
    return link.learned ?? this.guess(peer, link);
  }

  /** The open punched path to a peer we otherwise reach through relays: its endpoint, and with a password its data keys. */
  punched(peer: string): { endpoint: Endpoint; keys: DirectionKeys | null } | null {
    const link = this.links.get(peer);
    if (!link || link.kind !== 'punch' || !link.learned || !this.alive(link)) return null;
    if (this.io.password && !link.dataKeys) return null;
    return { endpoint: link.learned, keys: link.dataKeys };
  }

  connectionIp(peer: string): string | null {
    return this.links.get(peer)?.connectionIp ?? null;
  }

  /** A probe as the data plane received it; its bytes are valid during the call only. */
  readonly receive = (buf: Buffer, start: number, addr: number, port: number): void => {
    const id = probeId(buf, start);
    const entry = id < 0 ? undefined : this.byId.get(id);
    // From an IPv6 address the packet path has no name for: nothing to learn or answer
    // (peers' IPv6 addresses are named when their connections come up).
    if (!entry || addr === PEER6_UNKNOWN) {
      this.counters.unknownId++;
      return;
    }
    const { peer, link } = entry;
    const counter = openProbe(buf, start, link.rxKey);
    if (counter === null) {
      this.counters.badTag++;
      return;
    }
    if (counter <= link.lastCounter) {
      this.counters.replayed++;
      return;
    }
    link.lastCounter = counter;
    link.lastProbeAt = this.io.now();
    this.counters.received++;
    const wasAlive = link.wasAlive;
    link.wasAlive = true;
    const moved = link.learned?.addr !== addr || link.learned.port !== port;
    if (!moved && wasAlive) return;
    const before = link.learned ?? this.guess(peer, link);
    link.learned = { addr, port };
    if (moved) {
      const endpoint = formatHostPort(formatUnderlay(addr), port);
      if (link.kind === 'neighbour') this.io.sendMessage(peer, { t: 'seen-at', endpoint });
      if (link.kind === 'punch' || before?.addr !== addr || before.port !== port) {
        this.io.log('info', link.kind === 'punch' ? 'punched a direct path' : 'peer endpoint', { peer, endpoint, before: before ? formatHostPort(formatUnderlay(before.addr), before.port) : null });
      }
      // Answer at once: behind a NAT, its side learns ours from this.
      this.probe(peer, link);
    }
    this.io.endpointsChanged();
  };

  /** The data socket is open now (probes before it were lost): every path is probed at the next tick. */
  socketReady(): void {
    for (const link of this.links.values()) link.probedAt = null;
    this.tick();
  }

  handover(): PathsHandover {
    const text = (e: Endpoint | null) => (e ? formatHostPort(formatUnderlay(e.addr), e.port) : null);
    return {
      links: [...this.links].map(([peer, link]) => ({ ...link, peer, learned: text(link.learned), offered: text(link.offered) })),
      udpSeenAt: this.reported.udpSeenAt ?? null,
      nat: this.reported.nat ?? null,
    };
  }

  /** Goes on with a predecessor's paths: the same ids and keys, so probes in flight still count. */
  resume(state: PathsHandover): void {
    for (const { peer, learned, offered, ...rest } of state.links) {
      const link: Link = { ...rest, learned: learned === null ? null : endpointOf(learned), offered: offered === null ? null : endpointOf(offered) };
      this.links.set(peer, link);
      this.byId.set(link.rxId, { peer, link });
    }
    this.reported = { udpSeenAt: state.udpSeenAt ?? undefined, nat: state.nat ?? undefined };
  }

  /** Probes each path once per PROBE_MS (call it more often: a new one is probed at the first tick it can be); notices paths gone silent. */
  tick(): void {
    const now = this.io.now();
    let changed = false;
    for (const [peer, link] of this.links) {
      // Offered and not open: the offer, or the other end's state, was lost (a route changing, a restart). Again, from the start.
      if (link.kind === 'punch' && link.offeredAt !== null && this.self < peer && !this.alive(link) && now - link.offeredAt >= 2 * PROBE_MS) {
        this.openNat(peer, link);
        this.offer(peer, link, false);
      }
      if (link.probedAt === null || now - link.probedAt >= PROBE_MS) this.probe(peer, link);
      if (link.wasAlive && !this.alive(link)) {
        link.wasAlive = false;
        changed = true;
        this.io.log('info', link.kind === 'punch' ? 'punched path went silent: relaying again' : 'no probes from neighbour', { peer });
      }
    }
    if (changed) this.io.endpointsChanged();
  }

  status(): UdpPathStatus[] {
    return [...this.links].map(([peer, link]) => {
      const e = link.learned ?? this.guess(peer, link);
      return {
        peer,
        kind: link.kind,
        endpoint: e ? formatHostPort(formatUnderlay(e.addr), e.port) : null,
        probed: link.learned !== null,
        alive: this.alive(link),
        seenAt: link.seenAt,
      };
    });
  }

  private open(peer: string, kind: Link['kind'], connectionIp: string | null, probesFirst: boolean): Link {
    const old = this.links.get(peer);
    if (old) this.close(peer, old);
    let rxId: number;
    do rxId = randomInt(1, 2 ** 32 - 1);
    while (this.byId.has(rxId));
    const link: Link = {
      kind, connectionIp, probesFirst, rxId, rxKey: randomBytes(PROBE_KEY_BYTES), lastCounter: -1n,
      txId: null, txKey: null, learned: null, lastProbeAt: null, wasAlive: false, probedAt: null, offeredAt: null, seenAt: null, offered: null,
      keyPair: kind === 'punch' && this.io.password ? newKeyPair() : null, theirPublicKey: null, dataKeys: null,
    };
    this.links.set(peer, link);
    this.byId.set(rxId, { peer, link });
    return link;
  }

  private close(peer: string, link: Link): void {
    this.links.delete(peer);
    this.byId.delete(link.rxId);
    if (link.seenAt !== null) this.reportNat();
    if (link.kind === 'punch' && link.wasAlive) this.io.endpointsChanged();
  }

  private offer(peer: string, link: Link, reply: boolean): void {
    const endpoint = this.reported.udpSeenAt;
    if (endpoint === undefined) return;
    link.offeredAt = this.io.now();
    this.io.sendUnicast(peer, { t: 'punch', id: link.rxId, key: link.rxKey.toString('base64'), endpoint, publicKey: link.keyPair?.publicKey.toString('base64') ?? null, reply });
  }

  private seen(link: Link, endpoint: string): void {
    if (link.seenAt === endpoint) return;
    link.seenAt = endpoint;
    this.reportNat();
  }

  /** Before any probe from it: a neighbour at its connection's address (or the one it was given), a punch target where its neighbours see it. */
  private guess(peer: string, link: Link): Endpoint | null {
    if (link.offered) return link.offered;
    const info = this.io.peerInfo(peer);
    if (!info) return null;
    if (link.kind === 'neighbour') return { addr: underlayHandle(info.publicIp ?? link.connectionIp!), port: info.dataPort };
    if (!info.udpSeenAt) return null;
    return endpointOf(info.udpSeenAt);
  }

  private alive(link: Link): boolean {
    return link.lastProbeAt !== null && this.io.now() - link.lastProbeAt < SILENT_AFTER_MS;
  }

  private punchedCount(): number {
    let n = 0;
    for (const link of this.links.values()) if (link.kind === 'punch') n++;
    return n;
  }

  /** A probe that opens our NAT towards the peer's endpoint and goes no further (OPENING_TTL); its content does not matter. */
  private openNat(peer: string, link: Link): void {
    const to = this.guess(peer, link);
    if (to) this.io.sendProbe(encodeProbe(0, 0n, link.rxKey), to.addr, to.port, OPENING_TTL);
  }

  private probe(peer: string, link: Link): void {
    const to = link.learned ?? (link.probesFirst ? this.guess(peer, link) : null);
    if (link.txId === null || link.txKey === null || to === null) return;
    this.io.sendProbe(encodeProbe(link.txId, ++this.counter, link.txKey), to.addr, to.port);
    link.probedAt = this.io.now();
    this.counters.sent++;
  }

  private reportNat(): void {
    const seen = [...this.links.values()].flatMap((l) => (l.kind === 'neighbour' && l.seenAt !== null ? [l.seenAt] : [])).sort();
    const local = this.io.localAddrs();
    const nat = natKind(seen, local, this.io.dataPort);
    const udpSeenAt = seen.find((e) => !local.has(endpointAddress(e))) ?? seen[0];
    if (udpSeenAt === this.reported.udpSeenAt && nat === this.reported.nat) return;
    this.reported = { udpSeenAt, nat };
    this.io.natChanged(udpSeenAt, nat);
  }
}

/** An `ip:port` a peer sent (checked when its message was parsed) as an Endpoint. */
function endpointOf(text: string): Endpoint {
  const { address, port } = parseHostPort(text, 0);
  return { addr: underlayHandle(address), port };
}
