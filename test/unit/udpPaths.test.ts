// The UDP path to each peer (mesh/udpPaths.ts) over an in-memory network
// whose hosts may sit behind a NAT: endpoints learnt from probes, what a
// forged or replayed probe moves (nothing), the NAT a peer finds it is
// behind, and punched paths between peers that are no neighbours.
import { describe, expect, it } from 'vitest';
import type { LinkMessage, PunchBody } from '../../src/mesh/messages.js';
import { parseMessage, MessageError } from '../../src/mesh/messages.js';
import { natKind } from '../../src/mesh/natKind.js';
import type { NatKind } from '../../src/mesh/peerInfo.js';
import { encodeProbe, openProbe, probeId } from '../../src/mesh/udpProbe.js';
import { MAX_PUNCHED, PROBE_MS, UdpPaths } from '../../src/mesh/udpPaths.js';
import { formatIPv4, parseIPv4 } from '../../src/net/ipv4.js';

const DATA_PORT = 6784;

interface Host {
  name: string;
  paths: UdpPaths;
  /** Where its datagrams appear to come from: its own address, or its NAT's mapping. */
  outside: { addr: number; port: number };
  own: string;
  nat: { kind: NatKind | undefined; seenAt: string | undefined } ;
  changes: number;
}

/** Hosts that deliver messages and probes to each other at once; a probe with a TTL dies on the way (it only opens a NAT). */
class Net {
  now = 1_000_000;
  readonly hosts = new Map<string, Host>();
  /** Set to lose every probe (a blocked UDP path). */
  dropProbes = false;
  probesDelivered = 0;
  /** Messages in flight on the control connections and along the mesh: delivered in order by run(). */
  private readonly queue: (() => void)[] = [];

  run(): void {
    while (this.queue.length > 0) this.queue.shift()!();
  }

  add(name: string, own: string, behind?: string, password: Buffer | null = null): Host {
    const outside = behind ? { addr: parseIPv4(behind.split(':')[0]), port: Number(behind.split(':')[1]) } : { addr: parseIPv4(own), port: DATA_PORT };
    const host = { name, own, outside, nat: { kind: undefined, seenAt: undefined }, changes: 0 } as unknown as Host;
    host.paths = new UdpPaths(name, {
      sendMessage: (peer, message: LinkMessage) => this.queue.push(() => this.hosts.get(peer)!.paths.message(name, message)),
      sendUnicast: (peer, body: PunchBody) => this.queue.push(() => this.hosts.get(peer)!.paths.punchMessage(name, body)),
      sendProbe: (probe, addr, port, ttl) => {
        if (ttl !== undefined || this.dropProbes) return;
        const to = [...this.hosts.values()].find((h) => h.outside.addr === addr && h.outside.port === port);
        if (!to) return;
        this.probesDelivered++;
        to.paths.receive(probe, 0, host.outside.addr, host.outside.port);
      },
      peerInfo: (peer) => {
        const other = this.hosts.get(peer);
        return other ? { dataPort: DATA_PORT, publicIp: null, udpSeenAt: other.nat.seenAt ?? null } : null;
      },
      localAddrs: () => new Set([own]),
      dataPort: DATA_PORT,
      password,
      now: () => this.now,
      endpointsChanged: () => host.changes++,
      natChanged: (seenAt, kind) => (host.nat = { seenAt, kind }),
      log: () => {},
    });
    this.hosts.set(name, host);
    return host;
  }

  /** `from` dialled `to`: each side's view of the other's connection address is where its packets come from. */
  connect(from: Host, to: Host): void {
    to.paths.up(from.name, formatIPv4(from.outside.addr), false);
    from.paths.up(to.name, to.own, true);
    this.run();
  }

  tick(ms = 500): void {
    this.now += ms;
    for (const h of this.hosts.values()) h.paths.tick();
    this.run();
  }

  punch(from: Host, peers: string[]): void {
    from.paths.punchTo(peers);
    this.run();
  }
}

const endpointOf = (h: Host, peer: string) => {
  const e = h.paths.endpoint(peer);
  return e ? `${formatIPv4(e.addr)}:${e.port}` : null;
};

describe('UDP paths to neighbours', () => {
  it('learn a NATed neighbour at its mapping from its first probe, and tell it what it is behind', () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const a = net.add('a', '192.168.71.1', '100.64.1.2:40123');
    net.connect(a, r);
    // The neighbour that dialled probes at once; the one dialled answers the probe, so a NAT maps a's socket first.
    expect(endpointOf(r, 'a')).toBe('100.64.1.2:40123');
    expect(endpointOf(a, 'r')).toBe('10.201.0.1:6784');
    expect(a.nat).toEqual({ seenAt: '100.64.1.2:40123', kind: 'behind-nat' });
    expect(r.nat).toEqual({ seenAt: '10.201.0.1:6784', kind: 'none' });
    expect(r.paths.status()).toEqual([expect.objectContaining({ peer: 'a', probed: true, alive: true, endpoint: '100.64.1.2:40123' })]);
  });

  it('wait for an inbound neighbour\'s probe before probing it', () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const a = net.add('a', '192.168.71.1', '100.64.1.2:40123');
    r.paths.up('a', '100.64.1.2', false);
    a.paths.up('r', '10.201.0.1', true);
    net.tick();
    // r had a's probe-key as soon as a had its: it sent nothing until a's probe came, and answered that.
    expect(a.paths.counters.received).toBe(1);
    expect(r.paths.counters.sent).toBe(1);
    expect(r.paths.counters.received).toBeGreaterThanOrEqual(1);
  });

  it('follow a mapping that changes (a NAT reboot) at the next probe', () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const a = net.add('a', '192.168.71.1', '100.64.1.2:40123');
    net.connect(a, r);
    const before = r.changes;
    a.outside = { addr: parseIPv4('100.64.1.2'), port: 50999 };
    net.tick(PROBE_MS);
    expect(endpointOf(r, 'a')).toBe('100.64.1.2:50999');
    expect(r.changes).toBeGreaterThan(before);
    expect(a.nat.seenAt).toBe('100.64.1.2:50999');
  });

  it('move no endpoint for a replayed, altered, or unknown probe: each is counted, and nothing is kept', () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const a = net.add('a', '192.168.71.1', '100.64.1.2:40123');
    let captured: Buffer | null = null;
    const realReceive = r.paths.receive;
    // Keep a copy of a's next probe as it arrives, as an attacker on the path would.
    (r.paths as unknown as { receive: typeof realReceive }).receive = (buf, start, addr, port) => {
      captured ??= Buffer.from(buf.subarray(start, start + 32));
      realReceive(buf, start, addr, port);
    };
    net.connect(a, r);
    const attacker = parseIPv4('203.0.113.66');
    realReceive(captured!, 0, attacker, 1234);
    const altered = Buffer.from(captured!);
    altered.writeBigUInt64BE(altered.readBigUInt64BE(8) + 1000n, 8);
    realReceive(altered, 0, attacker, 1234);
    for (let i = 0; i < 10_000; i++) {
      const forged = encodeProbe(1 + (i % 1000), BigInt(i), Buffer.alloc(32, i & 0xff));
      realReceive(forged, 0, attacker, 1000 + i);
    }
    const notProbe = Buffer.alloc(32, 0x54);
    realReceive(notProbe, 0, attacker, 1);
    expect(endpointOf(r, 'a')).toBe('100.64.1.2:40123');
    const c = r.paths.counters;
    expect(c.replayed).toBe(1);
    expect(c.badTag).toBe(1);
    expect(c.unknownId + c.badTag - 1).toBe(10_001);
    expect(r.paths.status()).toHaveLength(1);
  });

  it('forget a neighbour whose connection went, and refuse its probes then', () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const a = net.add('a', '10.201.0.2');
    net.connect(a, r);
    r.paths.down('a');
    expect(r.paths.endpoint('a')).toBeNull();
    net.tick(PROBE_MS);
    expect(r.paths.counters.unknownId).toBeGreaterThan(0);
  });
});

describe('punched paths', () => {
  function twoSites(password: Buffer | null = null) {
    const net = new Net();
    const r = net.add('r', '10.201.0.1', undefined, password);
    const a = net.add('a', '192.168.71.1', '100.64.1.2:6784', password);
    const b = net.add('b', '192.168.72.1', '100.64.2.2:6784', password);
    net.connect(a, r);
    net.connect(b, r);
    return { net, r, a, b };
  }

  it('open between two peers that are no neighbours, once both have offered and probed', () => {
    const { net, a, b } = twoSites();
    net.punch(a, ['b']);
    net.punch(b, ['a']); // the higher name only answers
    expect(a.paths.punched('b')?.endpoint).toEqual({ addr: parseIPv4('100.64.2.2'), port: 6784 });
    expect(b.paths.punched('a')?.endpoint).toEqual({ addr: parseIPv4('100.64.1.2'), port: 6784 });
    expect(a.paths.punched('b')?.keys).toBeNull();
    net.tick();
    expect(a.paths.status().find((s) => s.peer === 'b')).toMatchObject({ kind: 'punch', probed: true, alive: true });
  });

  it('give the pair data keys of their own with a password: one side\'s sending key is the other\'s receiving key', () => {
    const { net, a, b } = twoSites(Buffer.from('secret'));
    net.punch(a, ['b']);
    const ka = a.paths.punched('b')!.keys!;
    const kb = b.paths.punched('a')!.keys!;
    expect(ka.send.equals(kb.receive)).toBe(true);
    expect(ka.receive.equals(kb.send)).toBe(true);
    expect(ka.send.equals(ka.receive)).toBe(false);
  });

  it('go silent when probes stop (the relay takes over), and open again when they come back', () => {
    const { net, a } = twoSites();
    net.punch(a, ['b']);
    const changes = a.changes;
    net.dropProbes = true;
    for (let t = 0; t < 8_000; t += 500) net.tick();
    expect(a.paths.punched('b')).toBeNull();
    expect(a.changes).toBeGreaterThan(changes);
    net.dropProbes = false;
    for (let t = 0; t < 5_000; t += 500) net.tick();
    expect(a.paths.punched('b')).not.toBeNull();
  });

  it('close when the peer is no longer a candidate, and give way to a neighbour connection', () => {
    const { net, a, b } = twoSites();
    net.punch(a, ['b']);
    net.punch(a, []);
    expect(a.paths.punched('b')).toBeNull();
    net.punch(a, ['b']);
    expect(a.paths.punched('b')).not.toBeNull();
    net.connect(a, b);
    expect(a.paths.punched('b')).toBeNull();
    expect(a.paths.endpoint('b')).not.toBeNull();
  });

  it(`hold at most ${MAX_PUNCHED}, and count the offers refused beyond`, () => {
    const net = new Net();
    const r = net.add('r', '10.201.0.1');
    const z = net.add('zz', '10.201.0.2');
    net.connect(z, r);
    for (let i = 0; i < MAX_PUNCHED + 10; i++) {
      const body: PunchBody = { t: 'punch', id: i + 1, key: Buffer.alloc(32, 1).toString('base64'), endpoint: `100.64.9.${i % 250}:6784`, publicKey: null, reply: false };
      z.paths.punchMessage(`p${i}`, body);
    }
    expect(z.paths.status().filter((s) => s.kind === 'punch')).toHaveLength(MAX_PUNCHED);
    expect(z.paths.counters.punchRefused).toBe(10);
  });
});

describe('the NAT a peer is behind, from what its neighbours see', () => {
  const local = new Set(['192.168.71.1', '10.201.0.5']);
  it.each<[string[], NatKind | undefined]>([
    [[], undefined],
    [['10.201.0.5:6784', '192.168.71.1:6784'], 'none'],
    [['100.64.1.2:6784'], 'behind-nat'],
    [['100.64.1.2:6784', '100.64.1.2:6784'], 'endpoint-independent'],
    [['100.64.1.2:6784', '100.64.1.2:41000'], 'symmetric'],
    [['10.201.0.5:7000'], 'behind-nat'],
  ])('%j: %s', (seen, kind) => expect(natKind(seen, local, DATA_PORT)).toBe(kind));
});

describe('probes and the messages that set them up', () => {
  it('authenticate under their key only, and carry their id and counter', () => {
    const key = Buffer.alloc(32, 7);
    const probe = encodeProbe(0xdeadbeef, 12345n, key);
    expect(probe).toHaveLength(32);
    expect(probeId(probe, 0)).toBe(0xdeadbeef);
    expect(openProbe(probe, 0, key)).toBe(12345n);
    expect(openProbe(probe, 0, Buffer.alloc(32, 8))).toBeNull();
    const flipped = Buffer.from(probe);
    flipped[9] ^= 1;
    expect(openProbe(flipped, 0, key)).toBeNull();
    const notOne = Buffer.from(probe);
    notOne[1] = 0;
    expect(probeId(notOne, 0)).toBe(-1);
  });

  it.each([
    { t: 'probe-key', id: 0, key: Buffer.alloc(32).toString('base64') },
    { t: 'probe-key', id: 5, key: Buffer.alloc(16).toString('base64') },
    { t: 'seen-at', endpoint: '10.0.0.1' },
    { t: 'seen-at', endpoint: '300.0.0.1:6784' },
    { t: 'seen-at', endpoint: '10.0.0.1:0' },
    { t: 'gossip', ring: null, peers: [{ name: 'p', version: 1, nickname: '', publicIp: null, controlPort: 6783, dataPort: 6784, vtepMac: null, subnet: null, connections: ['q'], connectionAddrs: ['10.0.0.999'], departed: false }] },
    { t: 'gossip', ring: null, peers: [{ name: 'p', version: 1, nickname: '', publicIp: null, controlPort: 6783, dataPort: 6784, vtepMac: null, subnet: null, connections: ['q'], connectionAddrs: [], departed: false }] },
    { t: 'gossip', ring: null, peers: [{ name: 'p', version: 1, nickname: '', publicIp: null, controlPort: 6783, dataPort: 6784, vtepMac: null, subnet: '10.32.1.0/99', connections: [], departed: false }] },
    { t: 'gossip', ring: null, peers: [{ name: 'p', version: 1, nickname: '', publicIp: null, controlPort: 6783, dataPort: 6784, vtepMac: 'zz:zz', subnet: null, connections: [], departed: false }] },
    { t: 'unicast', to: 'a', from: 'b', hops: 0, body: { t: 'punch', id: 5, key: Buffer.alloc(32).toString('base64'), endpoint: 'x', publicKey: null, reply: false } },
    { t: 'unicast', to: 'a', from: 'b', hops: 0, body: { t: 'punch', id: 5, key: Buffer.alloc(32).toString('base64'), endpoint: '1.2.3.4:5', publicKey: 'short', reply: false } },
  ])('refuse a malformed %j', (m) => expect(() => parseMessage(m)).toThrow(MessageError));
});
