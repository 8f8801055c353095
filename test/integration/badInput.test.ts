// Malformed datagrams at the data port, and packets with no route: dropped,
// counted by reason, and forwarding carries on.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import type { DropCounters } from '../../src/dataplane/counters.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { parseMac } from '../../src/net/mac.js';
import { ping, transfer } from '../helpers/traffic.js';

const SENDER = fileURLToPath(new URL('../helpers/sendDatagrams.mjs', import.meta.url));

/** An IPv4 header-only packet (20 bytes + payload) for `dst`. */
function ipv4Packet(src: number[], dst: number[], payload = 32): Buffer {
  const p = Buffer.alloc(20 + payload);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = 17;
  Buffer.from(src).copy(p, 12);
  Buffer.from(dst).copy(p, 16);
  return p;
}

describe('bad input at the data port (vxlan backend)', () => {
  let lab: Lab;
  let net: TwoHosts;
  let stranger: LabHost;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan');
    stranger = await lab.addHost('x');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  async function send(from: LabHost, name: string, datagrams: Buffer[]): Promise<void> {
    const file = join(lab.dir, `${name}.hex`);
    writeFileSync(file, datagrams.map((d) => d.toString('hex')).join('\n') + '\n');
    await lab.exec(from.ns, process.execPath, [SENDER, net.a.host.ip, '8472', file]);
  }

  async function dropsAfter(action: () => Promise<void>): Promise<DropCounters> {
    const before = (await net.a.daemon!.status()).counters.drops;
    await action();
    await new Promise((r) => setTimeout(r, 300));
    const after = (await net.a.daemon!.status()).counters.drops;
    return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof DropCounters]])) as DropCounters;
  }

  const header = () => ({ vni: 1, dstMac: parseMac(net.a.vtepMac), srcMac: parseMac(net.b.vtepMac), etherType: 0x0800 });
  const toA = () => ipv4Packet([10, 40, 2, 2], [10, 40, 1, 2]);

  it('counts truncated datagrams as bad_header', async () => {
    const d = await dropsAfter(() => send(net.b.host, 'short', Array.from({ length: 50 }, (_, i) => randomBytes(1 + (i % 21)))));
    expect(d.bad_header).toBe(50);
  });

  it('counts datagrams for another VNI as wrong_vni', async () => {
    const d = await dropsAfter(() => send(net.b.host, 'vni', Array.from({ length: 50 }, () => encodeVxlan({ ...header(), vni: 2 }, toA()))));
    expect(d.wrong_vni).toBe(50);
  });

  it('counts frames for another MAC as wrong_mac, and bad inner packets as bad_header', async () => {
    const d = await dropsAfter(async () => {
      await send(net.b.host, 'mac', Array.from({ length: 20 }, () => encodeVxlan({ ...header(), dstMac: parseMac('02:00:00:00:00:01') }, toA())));
      const liar = toA();
      liar.writeUInt16BE(1400, 2); // total length beyond what arrived
      await send(net.b.host, 'inner', Array.from({ length: 20 }, () => encodeVxlan(header(), liar)));
    });
    expect(d.wrong_mac).toBe(20);
    expect(d.bad_header).toBe(20);
  });

  it('counts oversized datagrams as oversize', async () => {
    const d = await dropsAfter(() => send(net.b.host, 'big', Array.from({ length: 30 }, () => encodeVxlan(header(), ipv4Packet([10, 40, 2, 2], [10, 40, 1, 2], 4000)))));
    expect(d.oversize).toBe(30);
  });

  it('counts inner packets for another subnet as not_local (no reflection back into the overlay)', async () => {
    const d = await dropsAfter(() => send(net.b.host, 'far', Array.from({ length: 25 }, () => encodeVxlan(header(), ipv4Packet([10, 40, 2, 2], [10, 40, 2, 9])))));
    expect(d.not_local).toBe(25);
  });

  it('counts datagrams from an address that is no peer as unknown_peer, even when well formed', async () => {
    const d = await dropsAfter(() => send(stranger, 'stranger', Array.from({ length: 40 }, () => encodeVxlan(header(), toA()))));
    expect(d.unknown_peer).toBe(40);
  });

  it('counts random garbage under some reason, every datagram', async () => {
    const d = await dropsAfter(() => send(net.b.host, 'garbage', Array.from({ length: 200 }, () => randomBytes(22 + Math.floor(Math.random() * 1200)))));
    expect(Object.values(d).reduce((a, b) => a + b, 0)).toBe(200);
  });

  it('counts TUN packets with no route as no_route', async () => {
    const d = await dropsAfter(async () => {
      await ping(lab, net.a.container, '10.40.99.1', 3).catch(() => '');
    });
    expect(d.no_route).toBe(3);
  });

  it('keeps forwarding after all of it', async () => {
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
    const result = await transfer(lab, net.b.container, net.a.container, 10 << 20);
    expect(result.received).toEqual(result.sent);
  });
});
