// Whole Dataplanes wired through in-memory TUNs and an in-memory underlay
// (src/dataplane/fakes): bytes, drops, relays, sealing and too-big replies
// checked without root, for every backend.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DirectionKeys } from '../../src/crypto/sessionKeys.js';
import { backends } from '../../src/dataplane/backends.js';
import { encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import { Dataplane } from '../../src/dataplane/dataplane.js';
import { endpointKey } from '../../src/dataplane/nextHop.js';
import { type MemoryEndpoint, MemoryNetwork, type MemoryTun } from '../../src/dataplane/fakes/memoryNetwork.js';
import { type Cidr, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { type Cidr6, parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { checksumValid, checksumValid6, ip6Packet, ipPacket } from '../helpers/packets.js';

const UNDERLAY_MTU = 1500;
const EACCES = 13;

interface Host {
  addr: number;
  subnet: Cidr;
  subnet6: Cidr6;
  vtepMac: Buffer;
  tun: MemoryTun;
  udp: MemoryEndpoint;
  dataplane: Dataplane;
}

type BackendCase = { name: string; backend: string; sealed: boolean };
const cases: BackendCase[] = [
  { name: 'udp', backend: 'udp', sealed: false },
  { name: 'vxlan', backend: 'vxlan', sealed: false },
  { name: 'sleeve', backend: 'sleeve', sealed: false },
  { name: 'sleeve sealed', backend: 'sleeve', sealed: true },
];

/** n hosts on 10.201.0.n+1, subnets 10.40.n+1.0/24 and fd00:40:0:n+1::/64, each with routes to every other (direct, or through `via`). */
function lab(c: BackendCase, n: number, options: { relay?: boolean; via?: (from: number, to: number) => number } = {}): { net: MemoryNetwork; hosts: Host[] } {
  const net = new MemoryNetwork();
  const backend = backends[c.backend];
  const port = backend.defaultPort;
  const mtu = UNDERLAY_MTU - backend.overhead(c.sealed);
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const addr = parseIPv4(`10.201.0.${i + 1}`);
    const subnet = parseCidr(`10.40.${i + 1}.0/24`);
    const subnet6 = parseCidr6(`fd00:40:0:${i + 1}::/64`);
    const vtepMac = Buffer.from([0x02, 0, 0, 0, 0, i + 1]);
    const tun = net.tun(`tso${i}`);
    const udp = net.endpoint(addr, port);
    const encap = backend.encapsulation({ vni: 1, vtepMac, underlayMtu: UNDERLAY_MTU, sealed: c.sealed });
    const dataplane = new Dataplane({ encap, localSubnet: subnet, localSubnet6: subnet6, mtu, relay: options.relay ?? false }, tun, udp);
    hosts.push({ addr, subnet, subnet6, vtepMac, tun, udp, dataplane });
  }
  for (const [i, h] of hosts.entries()) {
    const routes = hosts.flatMap((other, j) => {
      if (j === i) return [];
      const hop = hosts[options.via?.(i, j) ?? j];
      const to = { addr: hop.addr, port, vtepMac: hop.vtepMac };
      return [{ cidr: other.subnet, hop: to }, { cidr: other.subnet6, hop: to }];
    });
    h.dataplane.replaceRoutes(routes, hosts.filter((_, j) => j !== i).map((o) => o.addr));
    if (c.sealed) {
      const keys = new Map<number, DirectionKeys>();
      for (const [j, o] of hosts.entries()) if (j !== i) keys.set(endpointKey(o.addr, port), pairKeys(i, j));
      h.dataplane.replaceKeys(keys);
    }
    h.dataplane.start();
  }
  return { net, hosts };
}

/** The keys host i uses with host j: i's sending key is j's receiving key. */
const keyCache = new Map<string, Buffer>();
function pairKeys(i: number, j: number): DirectionKeys {
  const key = (from: number, to: number) => {
    const k = `${from}>${to}`;
    if (!keyCache.has(k)) keyCache.set(k, randomBytes(32));
    return keyCache.get(k)!;
  };
  return { send: key(i, j), receive: key(j, i) };
}

/** An IPv4/UDP packet from src to dst carrying `payload`. */
const packet = (src: string, dst: string, payload: Buffer, options: { df?: boolean } = {}) => ipPacket(src, dst, payload, { proto: 'udp', df: options.df });

const counters = (h: Host) => h.dataplane.snapshot().counters;

describe.each(cases)('Dataplane over memory ports: $name', (c) => {
  it('carries packets both ways, byte for byte, and counts them', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    const toB = Array.from({ length: 300 }, (_, i) => packet('10.40.1.5', '10.40.2.5', randomBytes(1 + ((i * 37) % 1400))));
    const toA = Array.from({ length: 50 }, () => packet('10.40.2.5', '10.40.1.5', randomBytes(64)));
    toB.forEach((p) => a.tun.inject(p));
    toA.forEach((p) => b.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual(toB);
    expect(a.tun.written).toEqual(toA);
    const bytes = (ps: Buffer[]) => ps.reduce((n, p) => n + p.length, 0);
    expect(counters(a).tx).toMatchObject({ packets: 300, bytes: bytes(toB) });
    expect(counters(b).rx).toMatchObject({ packets: 300, bytes: bytes(toB) });
    expect(counters(b).tx).toMatchObject({ packets: 50, bytes: bytes(toA) });
    const drops = [counters(a).drops, counters(b).drops].flatMap((d) => Object.entries(d).filter(([, v]) => v > 0));
    expect(drops).toEqual([]);
    const peerB = a.dataplane.snapshot().peers.find((p) => p.addr === b.addr)!;
    expect(peerB.counters).toMatchObject({ txPackets: 300, rxPackets: 50 });
  });

  it('drops what has no route, is not IPv4, or comes from no peer, and counts each', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    a.tun.inject(packet('10.40.1.5', '10.99.0.1', Buffer.from('nowhere')));
    a.tun.inject(Buffer.from([0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    b.udp.deliver(randomBytes(200), parseIPv4('10.201.0.99'), 1234);
    net.settle();
    expect(counters(a).drops).toMatchObject({ no_route: 1, not_ip: 1 });
    expect(counters(b).drops.unknown_peer).toBe(1);
    expect(b.tun.written).toEqual([]);
  });

  it('drops garbage from a peer as a bad header (or a bad seal), never delivering it', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    for (let i = 0; i < 200; i++) b.udp.deliver(randomBytes(1 + (i % 90)), a.addr, a.udp.port);
    net.settle();
    expect(b.tun.written).toEqual([]);
    const d = counters(b).drops;
    expect(d.bad_header + d.bad_seal + d.replay + d.wrong_vni + d.wrong_mac).toBe(200);
  });

  it('charges a datagram the kernel refuses to that datagram alone', () => {
    const { net, hosts: [a, b] } = lab(c, 3);
    const c3 = parseIPv4('10.201.0.3');
    // Datagrams towards the third host are refused (no route to it, say); the rest go.
    a.udp.refuse = (_bytes, addr) => (addr === c3 ? EACCES : 0);
    const sent = [packet('10.40.1.5', '10.40.2.5', randomBytes(500)), packet('10.40.1.5', '10.40.3.5', randomBytes(700)), packet('10.40.1.5', '10.40.2.6', randomBytes(300))];
    sent.forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual([sent[0], sent[2]]);
    expect(counters(a).tx).toMatchObject({ packets: 2, bytes: sent[0].length + sent[2].length });
    expect(counters(a).drops.udp_send).toBe(1);
  });

  it('counts TUN writes the kernel refuses, and only those', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    const sent = Array.from({ length: 5 }, (_, i) => packet('10.40.1.5', '10.40.2.5', Buffer.alloc(100 + i, i)));
    b.tun.refuse = (bytes) => (bytes.length === sent[2].length ? EACCES : 0);
    sent.forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual([sent[0], sent[1], sent[3], sent[4]]);
    expect(counters(b).rx).toMatchObject({ packets: 4, bytes: sent.reduce((n, p) => n + p.length, 0) - sent[2].length });
    expect(counters(b).drops.tun_write).toBe(1);
  });

  it('delivers inner checksums a kernel left unfinished to be finished, and leaves wrong ones for the kernel to drop', () => {
    const { net, hosts: [a, b, c3] } = lab(c, 3, { relay: true, via: (from, to) => (Math.abs(from - to) === 2 ? 1 : to) });
    const unfinished = [
      ipPacket('10.40.1.5', '10.40.2.5', randomBytes(700), { checksum: 'unfinished' }),
      ipPacket('10.40.1.5', '10.40.2.5', randomBytes(33), { proto: 'udp', checksum: 'unfinished' }),
      ipPacket('10.40.1.5', '10.40.2.5', randomBytes(90), { checksum: 'unfinished', options: Buffer.from([1, 1, 1, 0]) }),
    ];
    const wrong = ipPacket('10.40.1.5', '10.40.2.5', randomBytes(200), { checksum: 'wrong' });
    const complete = ipPacket('10.40.1.5', '10.40.2.5', randomBytes(200), { proto: 'udp' });
    const relayed = ipPacket('10.40.1.5', '10.40.3.5', randomBytes(500), { checksum: 'unfinished' });
    [...unfinished, wrong, complete, relayed].forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.finished).toBe(3);
    expect(b.tun.written).toHaveLength(5);
    for (const p of b.tun.written.slice(0, 3)) expect(checksumValid(p)).toBe(true);
    expect(b.tun.written[3]).toEqual(wrong); // untouched: the kernel drops it, as it would from a NIC
    expect(b.tun.written[4]).toEqual(complete);
    // Passed on unfinished by the relay, finished where it is delivered.
    expect(c3.tun.finished).toBe(1);
    expect(checksumValid(c3.tun.written[0])).toBe(true);
  });

  it('carries IPv6 packets both ways beside IPv4 ones, byte for byte, extension headers untouched', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    const toB = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? packet('10.40.1.5', '10.40.2.5', randomBytes(100)) : ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(1 + ((i * 37) % 1400)), { proto: i % 2 ? 'udp' : 'tcp' })));
    // A hop-by-hop options header before the UDP header: carried as payload.
    const withExtension = ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(64), { proto: 'udp' });
    withExtension[6] = 0;
    toB.push(withExtension);
    const toA = Array.from({ length: 30 }, () => ip6Packet('fd00:40:0:2::5', 'fd00:40:0:1::5', randomBytes(64)));
    toB.forEach((p) => a.tun.inject(p));
    toA.forEach((p) => b.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual(toB);
    expect(a.tun.written).toEqual(toA);
    const drops = [counters(a).drops, counters(b).drops].flatMap((d) => Object.entries(d).filter(([, v]) => v > 0));
    expect(drops).toEqual([]);
  });

  it('drops IPv6 packets with no route, a short header, a length past the datagram or a jumbogram, and counts each', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    a.tun.inject(ip6Packet('fd00:40:0:1::5', 'fd00:99::1', Buffer.from('nowhere')));
    a.tun.inject(Buffer.alloc(39, 0x60)); // shorter than an IPv6 header
    net.settle();
    expect(counters(a).drops).toMatchObject({ no_route: 1, not_ip: 1 });
    // Sent by a peer: the header checks happen on receipt.
    const long = ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(100));
    long.writeUInt16BE(2000, 4);
    const jumbo = ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(100));
    jumbo.writeUInt16BE(0, 4);
    a.dataplane.setRoute(parseCidr6('fd00:40:0:2::/64'), { addr: b.addr, port: b.udp.port, vtepMac: b.vtepMac });
    [long, jumbo].forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual([]);
    // The sleeve drops the rest of a datagram after a bad frame: both went in one.
    expect(counters(b).drops.bad_header).toBe(c.backend === 'sleeve' ? 1 : 2);
  });

  it('delivers IPv6 checksums a kernel left unfinished to be finished (TCP and UDP)', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    const unfinished = [ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(700), { checksum: 'unfinished' }), ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(33), { proto: 'udp', checksum: 'unfinished' })];
    const wrong = ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(200), { checksum: 'wrong' });
    [...unfinished, wrong].forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.finished).toBe(2);
    expect(b.tun.written.slice(0, 2).map(checksumValid6)).toEqual([true, true]);
    expect(b.tun.written[2]).toEqual(wrong);
  });

  it('keeps one next hop per peer endpoint in use, however often its port changes', () => {
    const { net, hosts: [a, b] } = lab(c, 2);
    // A NAT moving b's port a thousand times: the routes follow, and nothing is left of the old endpoints.
    for (let port = 20_000; port < 21_000; port++) {
      a.dataplane.replaceRoutes([{ cidr: b.subnet, hop: { addr: b.addr, port, vtepMac: b.vtepMac } }, { cidr: b.subnet6, hop: { addr: b.addr, port, vtepMac: b.vtepMac } }], [b.addr]);
    }
    const hops = (a.dataplane as unknown as { hops: Map<string, unknown> }).hops;
    expect(hops.size).toBe(1);
    a.dataplane.deleteRoute(b.subnet);
    a.dataplane.deleteRoute(b.subnet6);
    expect(hops.size).toBe(0);
    net.settle();
  });

  it('relays IPv6 packets through the middle host, and drops those for no one\'s subnet', () => {
    const { net, hosts: [a, b, c3] } = lab(c, 3, { relay: true, via: (from, to) => (Math.abs(from - to) === 2 ? 1 : to) });
    const there = Array.from({ length: 20 }, () => ip6Packet('fd00:40:0:1::5', 'fd00:40:0:3::5', randomBytes(900)));
    there.forEach((p) => a.tun.inject(p));
    a.dataplane.setRoute(parseCidr6('fd00:40:0:9::/64'), { addr: b.addr, port: b.udp.port, vtepMac: b.vtepMac });
    a.tun.inject(ip6Packet('fd00:40:0:1::5', 'fd00:40:0:9::1', Buffer.from('nobody')));
    net.settle();
    expect(c3.tun.written).toEqual(there);
    expect(b.tun.written).toEqual([]);
    expect(counters(b).relayed).toBe(20);
    expect(counters(b).drops.not_local).toBe(1);
  });

  it('relays packets for another subnet through the middle host, and not straight back', () => {
    // A line a - b - c: a reaches c's subnet through b.
    const { net, hosts: [a, b, c3] } = lab(c, 3, { relay: true, via: (from, to) => (Math.abs(from - to) === 2 ? 1 : to) });
    const there = Array.from({ length: 20 }, () => packet('10.40.1.5', '10.40.3.5', randomBytes(900)));
    there.forEach((p) => a.tun.inject(p));
    net.settle();
    expect(c3.tun.written).toEqual(there);
    expect(b.tun.written).toEqual([]);
    expect(counters(b).relayed).toBe(20);
    // A packet b would send back to where it came from is dropped, not bounced.
    b.dataplane.setRoute(parseCidr('10.40.9.0/24'), { addr: a.addr, port: a.udp.port, vtepMac: a.vtepMac });
    a.dataplane.setRoute(parseCidr('10.40.9.0/24'), { addr: b.addr, port: b.udp.port, vtepMac: b.vtepMac });
    a.tun.inject(packet('10.40.1.5', '10.40.9.1', Buffer.from('loop')));
    net.settle();
    expect(counters(b).drops.not_local).toBe(1);
  });
});

describe('Dataplane over memory ports: a kernel VXLAN peer over a veth', () => {
  /** A VXLAN datagram as a kernel sends it: header, inner Ethernet header to `to`'s VTEP MAC, the packet. */
  const vxlanDatagram = (to: Host, packet: Buffer) => encodeVxlan({ vni: 1, dstMac: to.vtepMac, srcMac: Buffer.alloc(6), etherType: 0x0800 }, packet);

  it('takes a TCP super-packet sent whole (checksum unfinished) for the TUN to cut at its MTU, and refuses other long datagrams', () => {
    const { net, hosts: [a, b] } = lab(cases[1], 2);
    const big = ipPacket('10.40.1.5', '10.40.2.5', randomBytes(20_000), { checksum: 'unfinished' });
    b.udp.deliver(vxlanDatagram(b, big), a.addr, a.udp.port);
    // Too long, and not a super-packet: a complete checksum, UDP, another subnet, a stranger.
    b.udp.deliver(vxlanDatagram(b, ipPacket('10.40.1.5', '10.40.2.5', randomBytes(5000))), a.addr, a.udp.port);
    b.udp.deliver(vxlanDatagram(b, ipPacket('10.40.1.5', '10.40.2.5', randomBytes(5000), { proto: 'udp', checksum: 'unfinished' })), a.addr, a.udp.port);
    b.udp.deliver(vxlanDatagram(b, ipPacket('10.40.1.5', '10.40.7.5', randomBytes(5000), { checksum: 'unfinished' })), a.addr, a.udp.port);
    b.udp.deliver(vxlanDatagram(b, big), parseIPv4('10.201.0.99'), a.udp.port);
    net.settle();
    expect(b.tun.written).toHaveLength(1);
    expect(checksumValid(b.tun.written[0])).toBe(true);
    expect(b.tun.written[0].subarray(40)).toEqual(big.subarray(40));
    expect(b.tun.gsoSizes).toEqual([UNDERLAY_MTU - backends.vxlan.overhead(false) - 40]);
    expect(counters(b).drops).toMatchObject({ oversize: 3, unknown_peer: 1 });
    expect(counters(b).rx).toMatchObject({ packets: 1, bytes: big.length });
  });

  it('the udp format has no kernel peers: a long datagram is oversize', () => {
    const { net, hosts: [a, b] } = lab(cases[0], 2);
    b.udp.deliver(ipPacket('10.40.1.5', '10.40.2.5', randomBytes(20_000), { checksum: 'unfinished' }), a.addr, a.udp.port);
    net.settle();
    expect(b.tun.written).toEqual([]);
    expect(counters(b).drops.oversize).toBe(1);
  });
});

describe('Dataplane over memory ports: sleeve specifics', () => {
  it('packs several packets into one datagram per next hop', () => {
    const { net, hosts: [a, b] } = lab(cases[2], 2);
    const sent = Array.from({ length: 40 }, () => packet('10.40.1.5', '10.40.2.5', randomBytes(100)));
    sent.forEach((p) => a.tun.inject(p));
    net.settle();
    expect(b.tun.written).toEqual(sent);
    expect(a.udp.sent.length).toBeLessThan(10);
  });

  it('sealed: nothing of the packet shows on the wire; a replayed, altered or forged datagram is refused and counted', () => {
    const { net, hosts: [a, b] } = lab(cases[3], 2);
    const marker = Buffer.from('a marker nobody on the wire may read');
    a.tun.inject(packet('10.40.1.5', '10.40.2.5', marker));
    net.settle();
    expect(b.tun.written).toHaveLength(1);
    const wire = a.udp.sent.map((d) => d.bytes);
    expect(wire.some((d) => d.includes(marker))).toBe(false);
    b.udp.deliver(wire[0], a.addr, a.udp.port);
    const altered = Buffer.from(wire[0]);
    altered[altered.length - 1] ^= 1;
    b.udp.deliver(altered, a.addr, a.udp.port);
    const forged = Buffer.from(wire[0]);
    forged.writeUInt32BE(forged.readUInt32BE(12) + 1, 12); // a counter never sent
    b.udp.deliver(forged, a.addr, a.udp.port);
    net.settle();
    expect(b.tun.written).toHaveLength(1);
    // The altered copy reuses a counter already seen: refused as a replay before any opening.
    expect(counters(b).drops).toMatchObject({ replay: 2, bad_seal: 1 });
  });

  it('sealed: a neighbour without keys gets nothing, and its datagrams are refused', () => {
    const { net, hosts: [a, b] } = lab(cases[3], 2);
    a.dataplane.replaceKeys(new Map());
    a.tun.inject(packet('10.40.1.5', '10.40.2.5', Buffer.from('x')));
    b.tun.inject(packet('10.40.2.5', '10.40.1.5', Buffer.from('y')));
    net.settle();
    expect(counters(a).drops.no_key).toBe(2);
    expect(a.tun.written).toEqual([]);
    expect(b.tun.written).toEqual([]);
  });

  it('answers a DF packet too big for the path with ICMP fragmentation-needed into the TUN', () => {
    const { net, hosts: [a] } = lab(cases[3], 2);
    const big = packet('10.40.1.5', '10.40.2.5', randomBytes(1460), { df: true });
    a.tun.inject(big);
    a.tun.inject(packet('10.40.1.5', '10.40.2.5', randomBytes(1460))); // no DF: dropped without a reply
    net.settle();
    expect(counters(a).drops.too_big).toBe(2);
    expect(a.tun.written).toHaveLength(1);
    const icmp = a.tun.written[0];
    expect(icmp[9]).toBe(1); // ICMP
    expect([icmp[20], icmp[21]]).toEqual([3, 4]); // fragmentation needed
    expect(icmp.readUInt32BE(16)).toBe(parseIPv4('10.40.1.5'));
    expect(icmp.readUInt16BE(26)).toBeLessThan(big.length);
  });

  it('answers every IPv6 packet too big for the path with ICMPv6 packet-too-big into the TUN', () => {
    const { net, hosts: [a] } = lab(cases[3], 2);
    const big = ip6Packet('fd00:40:0:1::5', 'fd00:40:0:2::5', randomBytes(1440));
    a.tun.inject(big);
    net.settle();
    expect(counters(a).drops.too_big).toBe(1);
    expect(a.tun.written).toHaveLength(1);
    const icmp = a.tun.written[0];
    expect(icmp[0] >> 4).toBe(6);
    expect(icmp[6]).toBe(58); // ICMPv6
    expect(icmp[40]).toBe(2); // packet too big
    expect(icmp.subarray(24, 40)).toEqual(big.subarray(8, 24)); // back to the sender
    expect(icmp.subarray(8, 24)).toEqual(big.subarray(24, 40)); // from the destination
    expect(icmp.readUInt32BE(44)).toBeLessThan(big.length);
    expect(icmp.readUInt16BE(4)).toBe(icmp.length - 40);
    expect(icmp.subarray(48)).toEqual(big.subarray(0, icmp.length - 48)); // the start of the packet, quoted
    expect(checksumValid6(icmp)).toBe(true);
  });
});
