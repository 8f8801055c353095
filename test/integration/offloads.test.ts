// The offloaded packet path (TUN TSO/checksum offload, UDP GSO/GRO) keeps
// every byte and every header right: odd sizes, IP options, IPv6 for no route,
// many flows at once, and checksums that verify on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { internetChecksum } from '../../src/net/icmp.js';
import { capture, udpDatagrams } from '../helpers/capture.js';
import { ping, transfer, udpBurst } from '../helpers/traffic.js';

/** Checks IPv4 header and TCP checksums of the packets laid back to back in buf. */
function verifyPackets(buf: Buffer): { tcp: number; bad: number } {
  let tcp = 0;
  let bad = 0;
  for (let at = 0; at + 20 <= buf.length; ) {
    const ihl = (buf[at] & 15) * 4;
    const total = buf.readUInt16BE(at + 2);
    if (buf[at] >> 4 !== 4 || total < ihl || at + total > buf.length) return { tcp, bad: bad + 1 };
    const pkt = buf.subarray(at, at + total);
    if (internetChecksum(pkt, 0, ihl) !== 0) bad++;
    if (pkt[9] === 6) {
      const pseudo = Buffer.alloc(12);
      pkt.copy(pseudo, 0, 12, 20);
      pseudo[9] = 6;
      pseudo.writeUInt16BE(total - ihl, 10);
      if (internetChecksum(Buffer.concat([pseudo, pkt.subarray(ihl)]), 0, 12 + total - ihl) !== 0) bad++;
      tcp++;
    }
    at += total;
  }
  return { tcp, bad };
}

describe('offloads on the udp backend', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'udp');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('is on by default', async () => {
    expect((await net.a.daemon!.status()).offload).toBe(true);
  });

  it('carries transfers of odd sizes intact', async () => {
    let port = 5100;
    for (const bytes of [1, 1447, 1448, 1449, 65_535, 65_537, (3 << 20) + 7]) {
      const r = await transfer(lab, net.a.container, net.b.container, bytes, port++);
      expect(r.received).toEqual(r.sent);
      expect(r.received.bytes).toBe(bytes);
    }
  });

  it('puts only whole packets with valid IPv4 and TCP checksums on the wire', async () => {
    const cap = await capture(lab, net.b.host, 'udp port 8285', 'checksums');
    const r = await transfer(lab, net.a.container, net.b.container, 4 << 20, 5200);
    await cap.stop();
    expect(r.received).toEqual(r.sent);
    let tcp = 0;
    let bad = 0;
    // A capture may show a GSO send whole: its datagrams are inner packets back to back.
    for (const d of udpDatagrams(cap.file)) {
      const v = verifyPackets(d.payload);
      tcp += v.tcp;
      bad += v.bad;
    }
    expect(tcp).toBeGreaterThan(2000);
    expect(bad).toBe(0);
  });

  it('passes packets with IP options (ping -R records the route)', async () => {
    const out = await lab.exec(net.a.container.ns, 'ping', ['-c', '2', '-i', '0.2', '-R', net.b.container.ip]);
    expect(out).toMatch(/2 received/);
    expect(out).toMatch(/RR:/);
  });

  it('drops IPv6 packets routed into the TUN for no IPv6 subnet as no_route, and goes on', async () => {
    const before = (await net.a.daemon!.status()).counters.drops.no_route;
    await lab.exec(net.a.host.ns, 'sysctl', ['-qw', 'net.ipv6.conf.tso0.disable_ipv6=0']).catch(() => '');
    await lab.exec(net.a.host.ns, 'ip', ['-6', 'route', 'add', 'fd00:7e57::/64', 'dev', 'tso0']);
    await lab.exec(net.a.host.ns, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '1', 'fd00:7e57::1']).catch(() => '');
    const after = (await net.a.daemon!.status()).counters.drops.no_route;
    expect(after - before).toBeGreaterThanOrEqual(3);
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
  });

  it('glues runs of UDP datagrams into single TUN writes (USO) and delivers every datagram intact', async () => {
    const tunRx = async () => Number(JSON.parse(await lab.exec(net.b.host.ns, 'ip', ['-j', '-s', 'link', 'show', 'tso0']))[0].stats64.rx.packets);
    const before = await tunRx();
    const r = await udpBurst(lab, net.a.container, net.b.container, 3000, 1200);
    const writes = (await tunRx()) - before;
    expect(r).toEqual({ received: 3000, bad: 0 });
    // The kernel counts a glued write as one packet: fewer writes than datagrams means runs were glued.
    expect(writes).toBeLessThan(3000);
  });

  it('keeps 8 concurrent flows apart and intact', async () => {
    const flows = await Promise.all(Array.from({ length: 8 }, (_, i) => transfer(lab, i % 2 ? net.a.container : net.b.container, i % 2 ? net.b.container : net.a.container, (2 << 20) + i * 1001, 5300 + i)));
    for (const r of flows) expect(r.received).toEqual(r.sent);
  });
});

describe('offloads off (--no-offload)', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan', 'vxlan', { extraArgs: ['--no-offload'] });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('forwards the plain way', async () => {
    expect((await net.a.daemon!.status()).offload).toBe(false);
    const r = await transfer(lab, net.a.container, net.b.container, 5 << 20);
    expect(r.received).toEqual(r.sent);
  });
});
