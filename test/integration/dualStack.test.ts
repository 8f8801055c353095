// Dual stack over real TUNs between namespaces: containers with IPv4 and
// IPv6 addresses reach each other over every backend, TCP transfers over
// IPv6 arrive intact with valid checksums on the wire, and an IPv6 packet too
// big for the sleeve gets ICMPv6 packet-too-big.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { type Overlay, twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { capture, udpDatagrams } from '../helpers/capture.js';
import { checksumValid6 } from '../helpers/packets.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

const cases: { name: string; overlay: Overlay; overlayB?: Overlay; port: number; extra?: string[]; underlay6?: boolean }[] = [
  { name: 'udp', overlay: 'udp', port: 8285 },
  { name: 'udp --no-offload', overlay: 'udp', port: 8285, extra: ['--no-offload'] },
  { name: 'vxlan', overlay: 'vxlan', port: 8472 },
  { name: 'sleeve', overlay: 'sleeve', port: 6784 },
  // The kernel's device carries inner IPv6 over the IPv4 underlay, its checksums left unfinished between veths.
  { name: 'vxlan, with a kernel VXLAN peer', overlay: 'vxlan', overlayB: 'kernel-vxlan', port: 8472 },
  // The hosts reach each other over IPv6: --public-ip and the routes name IPv6 addresses.
  { name: 'udp over an IPv6 underlay', overlay: 'udp', port: 8285, underlay6: true },
  { name: 'sleeve over an IPv6 underlay', overlay: 'sleeve', port: 6784, underlay6: true },
  // A kernel device over IPv6 as flannel sets up flannel-v6.1 (local <IPv6>, fdb dst <IPv6>).
  { name: 'vxlan over an IPv6 underlay, with a kernel VXLAN peer', overlay: 'vxlan', overlayB: 'kernel-vxlan', port: 8472, underlay6: true },
];
// The encrypted sleeve agrees its keys over the mesh: its dual-stack case comes with mesh mode's IPv6.

describe.each(cases)('dual stack over $name', ({ overlay, overlayB, port, extra, underlay6 }) => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, overlay, overlayB ?? overlay, { ipv6: true, extraArgs: extra, underlay6 });
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('shows the IPv6 subnet in status and subnet.env', async () => {
    const s = await net.a.daemon!.status();
    expect(s.ipv6).toEqual({ network: 'fd00:40::/48', subnet: 'fd00:40:0:1::/64', bridgeAddress: 'fd00:40:0:1::1/64' });
    expect(s.routes.map((r) => r.subnet)).toEqual(['10.40.2.0/24', 'fd00:40:0:2::/64']);
    const env = await lab.exec(net.a.host.ns, 'cat', [`${net.a.daemon!.runDir}/subnet.env`]);
    expect(env).toContain('FLANNEL_IPV6_NETWORK=fd00:40::/48\nFLANNEL_IPV6_SUBNET=fd00:40:0:1::1/64\n');
  });

  it('pings both ways over IPv6 and IPv4', async () => {
    expect(await ping(lab, net.a.container, net.b.container6!)).toMatch(/3 received/);
    expect(await ping(lab, net.b.container, net.a.container6!)).toMatch(/3 received/);
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
  });

  it('carries TCP over IPv6 intact both ways, with valid IPv6 TCP checksums on the wire', async () => {
    const cap = await capture(lab, net.b.host, `udp port ${port}`, 'v6');
    const there = await transfer(lab, net.a.container, net.b.container, 3 * MB + 7, 5400, 0, net.b.container6!);
    const back = await transfer(lab, net.b.container, net.a.container, MB + 3, 5401, 0, net.a.container6!);
    await cap.stop();
    expect(there.received).toEqual(there.sent);
    expect(back.received).toEqual(back.sent);
    // The inner packets tsoverlay sent, found in the datagrams after the backend's header: every IPv6 TCP one verifies.
    let v6 = 0;
    let bad = 0;
    const fromA = (await net.a.daemon!.status()).publicIp;
    for (const d of udpDatagrams(cap.file).filter((x) => x.src === fromA)) {
      for (let at = 0; at + 40 <= d.payload.length; at++) {
        const p = d.payload;
        if (p[at] >> 4 !== 6 || p[at + 6] !== 6 || p.readUInt16BE(at + 8) !== 0xfd00 || at + 40 + p.readUInt16BE(at + 4) > p.length) continue;
        const packet = p.subarray(at, at + 40 + p.readUInt16BE(at + 4));
        v6++;
        if (!checksumValid6(packet)) bad++;
        at += packet.length - 1;
      }
    }
    expect(v6).toBeGreaterThan(1000);
    expect(bad).toBe(0);
  });

  it('drops nothing along the way; the kernel\'s own MLD reports into the TUN are counted apart', async () => {
    for (const side of [net.a, net.b].filter((s) => s.daemon !== null)) {
      const { link_scope: linkScope, ...drops } = (await side.daemon!.status()).counters.drops;
      expect(Object.entries(drops).filter(([, n]) => n > 0)).toEqual([]);
      expect(linkScope).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('dual stack: IPv6 packets too big for the sleeve', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    // An MTU larger than the sleeve takes (1500 - 28 - 6 = 1466).
    net = await twoHosts(lab, 'sleeve', 'sleeve', { ipv6: true, extraArgs: ['--mtu', '1500'] });
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('answers with ICMPv6 packet-too-big naming 1466, and TCP over IPv6 then fits', async () => {
    const out = await lab.exec(net.a.container.ns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '1452', net.b.container6!], 10_000).catch((e: Error) => e.message);
    // "Packet too big: mtu=1466" for the first, "local error: message too long, mtu: 1466" once the route learned it.
    expect(out).toMatch(/mtu(: | ?= ?)1466/i);
    expect((await net.a.daemon!.status()).counters.drops.too_big).toBeGreaterThanOrEqual(1);
    const r = await transfer(lab, net.a.container, net.b.container, 2 * MB, 5402, 0, net.b.container6!);
    expect(r.received).toEqual(r.sent);
  });
});

describe('one host reaching one peer over IPv4 and another over IPv6 (a mixed underlay)', () => {
  let lab: Lab;
  const containers: { ip: string; ns: string }[] = [];
  let daemonA: Awaited<ReturnType<Lab['startDaemon']>>;

  beforeAll(async () => {
    lab = await Lab.create();
    const [a, b, c] = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    const [a6, c6] = [await lab.addUnderlayIPv6(a), await lab.addUnderlayIPv6(c)];
    const net = ['--backend', 'udp', '--network', '10.40.0.0/16', '--bridge', 'tsobr'];
    // a names b by IPv4 and c by IPv6 (its socket goes dual stack); b knows only IPv4, c only IPv6.
    daemonA = await lab.startDaemon(a, [...net, '--subnet', '10.40.1.0/24', '--public-ip', a.ip, '--route', `10.40.2.0/24=${b.ip}`, '--route', `10.40.3.0/24=${c6}`]);
    await lab.startDaemon(b, [...net, '--subnet', '10.40.2.0/24', '--public-ip', b.ip, '--route', `10.40.1.0/24=${a.ip}`]);
    await lab.startDaemon(c, [...net, '--subnet', '10.40.3.0/24', '--public-ip', c6, '--route', `10.40.1.0/24=${a6}`]);
    for (const [i, h] of [a, b, c].entries()) containers.push(await lab.addContainer(h, 'c1', `10.40.${i + 1}.2/24`, `10.40.${i + 1}.1`, 'tsobr', 1400));
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('carries traffic to both, each over its own family, and names each peer by its address in status', async () => {
    const [ca, cb, cc] = containers;
    expect(await lab.exec(cc.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', ca.ip])).toMatch(/3 received/);
    expect(await lab.exec(ca.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', cb.ip])).toMatch(/3 received/);
    expect(await lab.exec(ca.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', cc.ip])).toMatch(/3 received/);
    const s = await daemonA.status();
    expect(s.routes.map((r) => r.publicIp)).toEqual([expect.stringMatching(/^10\./), expect.stringMatching(/^fd99::/)]);
    const drops = Object.entries(s.counters.drops).filter(([, n]) => n > 0);
    expect(drops).toEqual([]);
  });
});
