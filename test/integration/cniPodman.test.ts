// A real CNI runtime, podman with its CNI backend, putting containers on the
// overlay through the tsoverlay plugin: three hosts in mesh mode on a line
// (the ends reach each other only through the middle), two in etcd mode.
// Containers reach each other across hosts and have names on every host.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdArgs, startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab, type LabContainer, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { CNI_NETWORK, LabPodman } from '../../src/lab/labPodman.js';
import { meshArgs, onlyLinks } from '../../src/lab/meshHosts.js';
import { cidrContains, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

interface PodmanSide {
  host: LabHost;
  daemon: LabDaemon;
  podman: LabPodman;
  container: LabContainer;
}

async function podmanSide(lab: Lab, host: LabHost, daemon: LabDaemon): Promise<PodmanSide> {
  const podman = new LabPodman(lab, host, daemon.runDir);
  await podman.start();
  return { host, daemon, podman, container: await podman.run(`web-${host.name}`) };
}

/** What the host's DNS server answers for a name. */
async function resolve(lab: Lab, side: PodmanSide, name: string): Promise<string> {
  const [address, port] = (await side.daemon.status()).dns!.listen.split(':');
  return (await lab.exec(side.host.ns, 'dig', [`@${address}`, '-p', port, '+tries=1', '+time=3', '+short', name])).trim();
}

async function expectNamedEverywhere(lab: Lab, sides: PodmanSide[]): Promise<void> {
  for (const from of sides) {
    for (const named of sides) {
      await eventually(async () => expect(await resolve(lab, from, `${named.container.name}.weave.local`)).toBe(named.container.ip), 10_000);
    }
  }
}

function expectOnOverlay(sides: PodmanSide[], subnets: string[]): void {
  sides.forEach((s, i) => expect(cidrContains(parseCidr(subnets[i]), parseIPv4(s.container.ip)), `${s.container.ip} in ${subnets[i]}`).toBe(true));
}

describe('podman containers on a mesh line A-B-C through the CNI plugin', () => {
  let lab: Lab;
  let sides: PodmanSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (const n of ['a', 'b', 'c']) hosts.push(await lab.addHost(n));
    await onlyLinks(lab, hosts, ['a-b', 'b-c']);
    const daemons = await Promise.all(hosts.map((h, i) => lab.startDaemon(h, meshArgs(h, i > 0 ? [hosts[i - 1]] : []), 40_000)));
    sides = [];
    for (let i = 0; i < hosts.length; i++) sides.push(await podmanSide(lab, hosts[i], daemons[i]));
  }, 180_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gives each container an address from its host\'s block', async () => {
    const subnets = await Promise.all(sides.map(async (s) => (await s.daemon.status()).subnet));
    expect(new Set(subnets).size).toBe(3);
    expectOnOverlay(sides, subnets);
  });

  it('pings and moves 8 MB from A\'s container to C\'s, relayed by B', async () => {
    const [a, b, c] = sides;
    await eventually(async () => expect(await ping(lab, a.container, c.container.ip, 1)).toMatch(/1 received/), 15_000);
    expect(await ping(lab, c.container, a.container.ip)).toMatch(/3 received/);
    expect(await ping(lab, b.container, a.container.ip)).toMatch(/3 received/);
    const r = await transfer(lab, a.container, c.container, 8 * MB);
    expect(r.received).toEqual(r.sent);
    expect((await b.daemon.status()).counters.relayed).toBeGreaterThan(1000);
  });

  it('names every container on every host', async () => {
    await expectNamedEverywhere(lab, sides);
  });

  it('podman rm takes the name off every host and gives the address back', async () => {
    const [a, , c] = sides;
    const ipamDir = join(a.podman.ipamDir, CNI_NETWORK);
    expect(readdirSync(ipamDir)).toContain(a.container.ip);
    await a.podman.remove(a.container.name);
    for (const from of sides) await eventually(async () => expect(await resolve(lab, from, `${a.container.name}.weave.local`)).toBe(''), 10_000);
    expect(readdirSync(ipamDir)).not.toContain(a.container.ip);
    expect(existsSync(join(a.podman.dataDir, CNI_NETWORK)) ? readdirSync(join(a.podman.dataDir, CNI_NETWORK)) : []).toEqual([]);
    // The others are untouched.
    expect(await resolve(lab, a, `${c.container.name}.weave.local`)).toBe(c.container.ip);
  });
});

describe('podman containers on two etcd-mode hosts through the CNI plugin', () => {
  let lab: Lab;
  let sides: PodmanSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const etcd = await startLabEtcd(lab, { Network: '10.93.0.0/16', Backend: { Type: 'vxlan' } });
    sides = [];
    for (const n of ['a', 'b']) {
      const host = await lab.addHost(n);
      sides.push(await podmanSide(lab, host, await lab.startDaemon(host, ['--public-ip', host.ip, ...etcdArgs(etcd)])));
    }
  }, 180_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('attaches each container inside its host\'s lease, and they talk', async () => {
    const [a, b] = sides;
    expectOnOverlay(sides, await Promise.all(sides.map(async (s) => (await s.daemon.status()).subnet)));
    await eventually(async () => expect(await ping(lab, a.container, b.container.ip, 1)).toMatch(/1 received/), 15_000);
    const r = await transfer(lab, b.container, a.container, 8 * MB);
    expect(r.received).toEqual(r.sent);
  });

  it('names both containers on both hosts', async () => {
    await expectNamedEverywhere(lab, sides);
  });
});
