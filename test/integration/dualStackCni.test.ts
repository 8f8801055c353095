// The CNI plugin on dual-stack hosts: ADD gives the container an address of
// each family from the host's subnets (the lower half of each, as for
// IPv4), routes to both overlay networks, and the container reaches a
// container on the other host over IPv6; CHECK and DEL undo it exactly.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { CNI_NETWORK } from '../../src/lab/labPodman.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { cniCall } from '../helpers/cniCall.js';

describe('the CNI plugin on a dual-stack host', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan', 'vxlan', { ipv6: true });
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('attaches a container with an IPv4 and an IPv6 address that reach the other host, and detaches it', async () => {
    const host = net.a.host;
    const config = { cniVersion: '1.0.0', name: CNI_NETWORK, type: 'tsoverlay', runDir: net.a.daemon!.runDir, dataDir: join(lab.dir, 'cni-data'), delegate: { ipam: { dataDir: join(lab.dir, 'ipam') } } };
    const ns = await lab.addSandbox('k1');
    const env = { containerId: `k1x${lab.id.replace(/[^a-z0-9]/g, '')}`, netns: `/var/run/netns/${ns}` };
    const added = await cniCall(host.ns, 'ADD', config, env);
    expect(added.exit, added.stdout).toBe(0);
    const ips: { address: string; gateway: string }[] = added.json.ips;
    expect(ips.map((i) => i.gateway)).toEqual(['10.40.1.1', 'fd00:40:0:1::1']);
    expect(ips[0].address).toMatch(/^10\.40\.1\.\d+\/24$/);
    expect(ips[1].address).toMatch(/^fd00:40:0:1::[0-9a-f]+\/64$/);
    expect(await lab.exec(ns, 'ip', ['-6', 'route'])).toContain('fd00:40::/48 via fd00:40:0:1::1');
    // Its address is usable at once only after DAD; the bridge plugin waits for it.
    const out = await lab.exec(ns, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', net.b.container6!], 30_000);
    expect(out).toMatch(/3 received/);
    expect((await cniCall(host.ns, 'CHECK', { ...config, prevResult: added.json }, env)).exit).toBe(0);
    const deleted = await cniCall(host.ns, 'DEL', { ...config, prevResult: added.json }, env);
    expect(deleted.exit, deleted.stdout).toBe(0);
    expect(await lab.exec(ns, 'ip', ['-o', 'link'])).not.toContain('eth0');
  });
});
