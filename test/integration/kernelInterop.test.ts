// tsoverlay's vxlan backend against a Linux kernel VXLAN device set up as
// flanneld sets up flannel.1, with the kernel's default offloads: between
// veths its inner TCP and UDP checksums arrive unfinished (CHECKSUM_PARTIAL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { unfinishedChecksum } from '../../src/net/unfinishedChecksum.js';
import { capture, udpDatagrams } from '../helpers/capture.js';
import { ping, transfer, udpMarkers } from '../helpers/traffic.js';

const MB = 1 << 20;
/** VXLAN header and inner Ethernet header, before the inner IPv4 packet. */
const VXLAN_AND_ETHERNET = 8 + 14;

describe.each([
  ['with offloads', []],
  ['without offloads (--no-offload)', ['--no-offload']],
])('vxlan interop with the kernel (flannel.1-style peer, default offloads), tsoverlay %s', (_name, extraArgs) => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan', 'kernel-vxlan', { extraArgs });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('pings both ways', async () => {
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
    expect(await ping(lab, net.b.container, net.a.container.ip)).toMatch(/3 received/);
  });

  it('transfers 20 MB over TCP both ways with matching checksums, though the kernel leaves its inner checksums unfinished', async () => {
    const wire = await capture(lab, net.a.host, 'udp dst port 8472', 'from-kernel');
    for (const [from, to] of [[net.b, net.a], [net.a, net.b]]) {
      const result = await transfer(lab, from.container, to.container, 20 * MB);
      expect(result.received).toEqual(result.sent);
    }
    await wire.stop();
    // The hard case is really there: inner packets from the kernel peer with only the pseudo-header sum.
    const inner = udpDatagrams(wire.file).filter((d) => d.src === net.b.host.ip).map((d) => d.payload.subarray(VXLAN_AND_ETHERNET));
    const unfinished = inner.filter((p) => p.length >= 40 && unfinishedChecksum(p, 0, p.readUInt16BE(2)) !== 0);
    expect(unfinished.length).toBeGreaterThan(0);
  });

  it('delivers UDP datagrams both ways', async () => {
    const texts = ['one', 'two', 'three'];
    expect(await udpMarkers(lab, net.b.container, net.a.container, texts)).toEqual(texts);
    expect(await udpMarkers(lab, net.a.container, net.b.container, texts)).toEqual(texts);
  });

  it('counted the kernel peer\'s datagrams as received, with no drops', async () => {
    const { counters } = await net.a.daemon!.status();
    // Over a veth the kernel sends TCP super-packets whole: one packet counted for many segments.
    expect(counters.rx.bytes).toBeGreaterThan(20 * MB);
    expect(counters.drops.wrong_mac + counters.drops.wrong_vni + counters.drops.bad_header + counters.drops.oversize + counters.drops.tun_write).toBe(0);
  });
});
