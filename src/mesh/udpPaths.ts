// The UDP path to each neighbour: where its datagrams really come from, which
// is where ours must go. Behind a NAT that is the NAT's mapping of its data
// socket, which neither end can know in advance; so each end tells the other,
// over their control connection, an id and key, and every PROBE_MS the other
// sends a probe (udpProbe.ts) from its data socket. A probe that authenticates
// moves the neighbour's endpoint to where it came from, and its being sent
// keeps the NAT's mapping open. Each end tells the other where its probes
// arrive from ('seen-at'): that is how a peer learns the NAT it is behind.
import { randomBytes, randomInt } from 'node:crypto';
import { formatIPv4, parseIPv4 } from '../net/ipv4.js';
import type { LinkMessage } from './messages.js';
import { natKind } from './natKind.js';
import type { NatKind } from './peerInfo.js';
import { encodeProbe, openProbe, PROBE_KEY_BYTES, probeId } from './udpProbe.js';

/** Probes per neighbour: often enough to follow a changed NAT mapping within seconds, and to keep one open. */
export const PROBE_MS = 2000;
/** A neighbour whose probes stopped for this long has a silent UDP path. */
const SILENT_AFTER_MS = 3 * PROBE_MS + 1000;

export interface Endpoint {
  addr: number;
  port: number;
}

interface Link {
  connectionIp: string;
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
  /** When we last sent it one. */
  probedAt: number | null;
  /** Where it says our probes come from. */
  seenAt: string | null;
}

export interface UdpPathsIo {
  sendMessage(peer: string, message: LinkMessage): void;
  /** From the data socket; dropped until the data plane is up. */
  sendProbe(probe: Buffer, addr: number, port: number): void;
  /** The neighbour's data port and `--public-ip` as it gossips them; null until its info arrived. */
  peerPorts(peer: string): { dataPort: number; publicIp: string | null } | null;
  localAddrs(): ReadonlySet<string>;
  dataPort: number;
  now(): number;
  /** A neighbour's endpoint moved: routes and keys must follow. */
  endpointsChanged(): void;
  /** What our neighbours see of us changed. */
  natChanged(udpSeenAt: string | undefined, nat: NatKind | undefined): void;
  log(level: 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
}

export interface ProbeCounters {
  sent: number;
  received: number;
  /** Refused: no link has the id, the tag is wrong, or the counter is not new. */
  unknownId: number;
  badTag: number;
  replayed: number;
}

export interface UdpPathStatus {
  peer: string;
  connectionIp: string;
  endpoint: string | null;
  /** The endpoint came from its probes (else: guessed from its connection). */
  probed: boolean;
  /** Probes from it arrived within the last few intervals. */
  alive: boolean;
  seenAt: string | null;
}

export class UdpPaths {
  private readonly links = new Map<string, Link>();
  private readonly byId = new Map<number, { peer: string; link: Link }>();
  private counter = BigInt(Date.now()) << 16n;
  readonly counters: ProbeCounters = { sent: 0, received: 0, unknownId: 0, badTag: 0, replayed: 0 };
  private reported: { udpSeenAt: string | undefined; nat: NatKind | undefined } = { udpSeenAt: undefined, nat: undefined };

  constructor(private readonly io: UdpPathsIo) {}

  up(peer: string, connectionIp: string): void {
    this.down(peer);
    let rxId: number;
    do rxId = randomInt(1, 2 ** 32 - 1);
    while (this.byId.has(rxId));
    const link: Link = {
      connectionIp, rxId, rxKey: randomBytes(PROBE_KEY_BYTES), lastCounter: -1n,
      txId: null, txKey: null, learned: null, lastProbeAt: null, probedAt: null, seenAt: null,
    };
    this.links.set(peer, link);
    this.byId.set(rxId, { peer, link });
    this.io.sendMessage(peer, { t: 'probe-key', id: rxId, key: link.rxKey.toString('base64') });
  }

  down(peer: string): void {
    const link = this.links.get(peer);
    if (!link) return;
    this.links.delete(peer);
    this.byId.delete(link.rxId);
    if (link.seenAt !== null) this.reportNat();
  }

  message(peer: string, message: LinkMessage): void {
    const link = this.links.get(peer);
    if (!link) return;
    if (message.t === 'probe-key') {
      link.txId = message.id;
      link.txKey = Buffer.from(message.key, 'base64');
      this.probe(peer, link);
    } else if (link.seenAt !== message.endpoint) {
      link.seenAt = message.endpoint;
      this.reportNat();
    }
  }

  /** Where to send a neighbour's datagrams, and whose datagrams to take: its probed endpoint, else the guess from its connection. */
  endpoint(peer: string): Endpoint | null {
    const link = this.links.get(peer);
    if (!link) return null;
    if (link.learned) return link.learned;
    const ports = this.io.peerPorts(peer);
    return ports ? { addr: parseIPv4(ports.publicIp ?? link.connectionIp), port: ports.dataPort } : null;
  }

  connectionIp(peer: string): string | null {
    return this.links.get(peer)?.connectionIp ?? null;
  }

  /** A probe as the data plane received it; its bytes are valid during the call only. */
  readonly receive = (buf: Buffer, start: number, addr: number, port: number): void => {
    const id = probeId(buf, start);
    const entry = id < 0 ? undefined : this.byId.get(id);
    if (!entry) {
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
    if (link.learned?.addr === addr && link.learned.port === port) return;
    const before = this.endpoint(peer);
    link.learned = { addr, port };
    const endpoint = `${formatIPv4(addr)}:${port}`;
    this.io.sendMessage(peer, { t: 'seen-at', endpoint });
    if (before?.addr === addr && before.port === port) return;
    this.io.log('info', 'peer endpoint', { peer, endpoint, before: before ? `${formatIPv4(before.addr)}:${before.port}` : null });
    this.io.endpointsChanged();
    // Answer at once: behind a NAT, its side learns ours from this.
    this.probe(peer, link);
  };

  /** Probes each neighbour once per PROBE_MS (call it more often: a new one is probed at the first tick it can be). */
  tick(): void {
    const now = this.io.now();
    for (const [peer, link] of this.links) if (link.probedAt === null || now - link.probedAt >= PROBE_MS) this.probe(peer, link);
  }

  status(): UdpPathStatus[] {
    const now = this.io.now();
    return [...this.links].map(([peer, link]) => {
      const e = this.endpoint(peer);
      return {
        peer,
        connectionIp: link.connectionIp,
        endpoint: e ? `${formatIPv4(e.addr)}:${e.port}` : null,
        probed: link.learned !== null,
        alive: link.lastProbeAt !== null && now - link.lastProbeAt < SILENT_AFTER_MS,
        seenAt: link.seenAt,
      };
    });
  }

  private probe(peer: string, link: Link): void {
    const to = this.endpoint(peer);
    if (link.txId === null || link.txKey === null || to === null) return;
    this.io.sendProbe(encodeProbe(link.txId, ++this.counter, link.txKey), to.addr, to.port);
    link.probedAt = this.io.now();
    this.counters.sent++;
  }

  private reportNat(): void {
    const seen = [...this.links.values()].flatMap((l) => (l.seenAt === null ? [] : [l.seenAt])).sort();
    const nat = natKind(seen, this.io.localAddrs(), this.io.dataPort);
    const translated = seen.find((e) => !this.io.localAddrs().has(e.split(':')[0]));
    const udpSeenAt = translated ?? seen[0];
    if (udpSeenAt === this.reported.udpSeenAt && nat === this.reported.nat) return;
    this.reported = { udpSeenAt, nat };
    this.io.natChanged(udpSeenAt, nat);
  }
}
