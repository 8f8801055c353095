// A real dockerd on a dual-stack host, with tsoverlay's network and IPAM
// plugin: docker network create --ipv6 takes the host's IPv6 subnet beside
// the IPv4 one, a container gets an address of each family (the upper half
// of each subnet), reaches a container on the other host over IPv6, and its
// name resolves to both (A and AAAA).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_IMAGE } from '../../src/lab/busyboxImage.js';
import { Lab } from '../../src/lab/lab.js';
import { LabDocker } from '../../src/lab/labDocker.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { eventually } from '../helpers/eventually.js';

const NET = 'tsonet6';

describe('docker network create --ipv6 -d tsoverlay on a dual-stack host', () => {
  let lab: Lab;
  let net: TwoHosts;
  let docker: LabDocker;

  beforeAll(async () => {
    lab = await Lab.create();
    const pluginDir = join(lab.dir, 'plugins-a');
    // dockerd's socket (LabDocker's, under the lab dir) is known before it starts: the daemon follows its events from the start.
    net = await twoHosts(lab, 'vxlan', 'vxlan', { ipv6: true, extraArgsA: ['--docker-plugin-dir', pluginDir, '--docker-api', `unix://${join(lab.dir, 'docker-a', 'docker.sock')}`] });
    docker = new LabDocker(lab, net.a.host);
    await docker.startWith([], pluginDir);
    await docker.importImage();
  }, 240_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('refuses --ipv6 without the host\'s IPv6 subnet, naming it', async () => {
    await expect(docker.docker('network', 'create', '--ipv6', '-d', 'tsoverlay', '--ipam-driver', 'tsoverlay', '--subnet', '10.40.1.0/24', 'v6nosubnet')).rejects.toThrow('--subnet fd00:40:0:1::/64');
  });

  it('gives a container an IPv4 and an IPv6 address that reach the other host, and a name with both', async () => {
    await docker.docker('network', 'create', '--ipv6', '-d', 'tsoverlay', '--ipam-driver', 'tsoverlay', '--subnet', '10.40.1.0/24', '--subnet', 'fd00:40:0:1::/64', NET);
    await docker.docker('run', '-d', '--net', NET, '--name', 'web6', LAB_IMAGE, 'sleep', '600');
    const inspect = (f: string) => docker.docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").${f}}}`, 'web6').then((s) => s.trim());
    expect(await inspect('IPAddress')).toMatch(/^10\.40\.1\.(12[89]|1[3-9]\d|2\d\d)$/);
    const ip6 = await inspect('GlobalIPv6Address');
    expect(ip6).toMatch(/^fd00:40:0:1:8000::/);
    expect(await inspect('IPv6Gateway')).toBe('fd00:40:0:1::1');
    const out = await docker.exec('web6', 'ping', '-6', '-c', '3', '-W', '2', net.b.container6!);
    expect(out).toMatch(/3 packets received/);
    await eventually(async () => {
      const aaaa = await lab.exec(net.a.host.ns, 'dig', ['@10.40.1.1', '+short', 'web6.weave.local', 'AAAA']);
      expect(aaaa.trim()).toBe(ip6);
    }, 10_000);
  });
});
