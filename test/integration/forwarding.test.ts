// Two hosts, tsoverlay on each: containers ping and move 50 MB both ways, checksums matching.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

describe.each(['udp', 'vxlan', 'sleeve'] as const)('%s backend between two tsoverlay hosts', (backend) => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, backend);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('pings container to container in both directions', async () => {
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
    expect(await ping(lab, net.b.container, net.a.container.ip)).toMatch(/3 received/);
  });

  it('carries 50 MB over TCP a -> b and b -> a with matching checksums', async () => {
    for (const [from, to] of [[net.a, net.b], [net.b, net.a]]) {
      const result = await transfer(lab, from.container, to.container, 50 * MB);
      expect(result.received.bytes).toBe(50 * MB);
      expect(result.received.sha256).toBe(result.sent.sha256);
    }
  });

  it('reports subnet, VTEP MAC, routes and moving counters in status', async () => {
    const status = await net.a.daemon!.status();
    expect(status.backend).toBe(backend);
    expect(status.subnet).toBe(net.a.subnet);
    expect(status.vtepMac).toBe(net.a.vtepMac);
    expect(status.mtu).toBe({ udp: 1472, vxlan: 1450, sleeve: 1466 }[backend]);
    expect(status.routes).toEqual([
      { subnet: net.b.subnet, publicIp: net.b.host.ip, port: { udp: 8285, vxlan: 8472, sleeve: 6784 }[backend], vtepMac: backend === 'vxlan' ? net.b.vtepMac : null },
    ]);
    expect(status.counters.tx.packets).toBeGreaterThan(30_000);
    expect(status.counters.rx.bytes).toBeGreaterThan(50 * MB);
    expect(status.counters.drops.bad_header).toBe(0);
    expect(status.encryption).toBeNull();
  });
});
