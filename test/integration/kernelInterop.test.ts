// tsoverlay's vxlan backend against a Linux kernel VXLAN device set up as flanneld sets up flannel.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

describe('vxlan interop with the kernel (flannel.1-style peer)', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan', 'kernel-vxlan');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('pings both ways', async () => {
    expect(await ping(lab, net.a.container, net.b.container.ip)).toMatch(/3 received/);
    expect(await ping(lab, net.b.container, net.a.container.ip)).toMatch(/3 received/);
  });

  it('transfers 20 MB both ways with matching checksums', async () => {
    for (const [from, to] of [[net.a, net.b], [net.b, net.a]]) {
      const result = await transfer(lab, from.container, to.container, 20 * MB);
      expect(result.received).toEqual(result.sent);
    }
  });

  it('counted the kernel peer\'s datagrams as received, with no drops', async () => {
    const { counters } = await net.a.daemon!.status();
    expect(counters.rx.packets).toBeGreaterThan(10_000);
    expect(counters.drops.wrong_mac + counters.drops.wrong_vni + counters.drops.bad_header).toBe(0);
  });
});
