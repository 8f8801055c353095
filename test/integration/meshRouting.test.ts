// Mesh mode across partially connected hosts: relays along a line, and rerouting when a relay dies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { type MeshSide, onlyLinks, startMesh } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

const variants: [string, string[]][] = [
  ['sleeve, encrypted', ['--backend', 'sleeve', '--password', 'line secret']],
  ['udp', ['--backend', 'udp']],
  ['vxlan', ['--backend', 'vxlan']],
];

describe.each(variants)('a line A-B-C-D where only neighbours reach each other (%s)', (variant, args) => {
  let lab: Lab;
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (const n of ['a', 'b', 'c', 'd']) hosts.push(await lab.addHost(n));
    await onlyLinks(lab, hosts, ['a-b', 'b-c', 'c-d']);
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []), args);
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gives every host its own block and routes A to D through B', async () => {
    expect(new Set(sides.map((s) => s.subnet)).size).toBe(4);
    await eventually(async () => {
      const mesh = (await sides[0].daemon.status()).mesh!;
      const d = mesh.peers.find((p) => p.name === 'd')!;
      expect(d).toMatchObject({ reachable: true, nextHop: 'b', hops: 3, subnet: sides[3].subnet });
    }, 15_000);
  });

  it('pings and moves 20 MB from a container on A to one on D, relayed by B and C', async () => {
    expect(await ping(lab, sides[0].container, sides[3].container.ip)).toMatch(/3 received/);
    const r = await transfer(lab, sides[0].container, sides[3].container, 20 * MB);
    expect(r.received).toEqual(r.sent);
    expect((await sides[1].daemon.status()).counters.relayed).toBeGreaterThan(10_000);
    expect((await sides[2].daemon.status()).counters.relayed).toBeGreaterThan(10_000);
    if (variant.includes('encrypted')) {
      const b = await sides[1].daemon.status();
      expect(b.encryption?.neighbours.map((n) => n.publicIp).sort()).toEqual([sides[0].host.ip, sides[2].host.ip].sort());
      expect(b.mesh!.connections.every((c) => c.encrypted)).toBe(true);
    }
  });

  it('shows the unreachable peers as targets it keeps retrying', async () => {
    const mesh = (await sides[0].daemon.status()).mesh!;
    const toC = mesh.targets.find((t) => t.address === sides[2].host.ip);
    expect(toC).toMatchObject({ learned: true });
    expect(toC!.state).not.toBe('connected');
  });
});

describe('a triangle A-B-C, and D reachable only through B or C', () => {
  let lab: Lab;
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (const n of ['a', 'b', 'c', 'd']) hosts.push(await lab.addHost(n));
    await onlyLinks(lab, hosts, ['a-b', 'a-c', 'b-c', 'b-d', 'c-d']);
    // b, c and d are told of a and b (as far as they can reach them).
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0], hosts[1]].filter((p) => p !== hosts[i] && !(hosts[i].name === 'd' && p.name === 'a')) : []));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('reroutes within 5 s after the relay in use is killed with SIGKILL', async () => {
    const [a, , , d] = sides;
    let relay = '';
    await eventually(async () => {
      const peer = (await a.daemon.status()).mesh!.peers.find((p) => p.name === 'd')!;
      expect(peer.reachable).toBe(true);
      relay = peer.nextHop!;
      expect(['b', 'c']).toContain(relay);
    }, 15_000);
    expect(await ping(lab, a.container, d.container.ip)).toMatch(/3 received/);
    const victim = sides.find((s) => s.host.name === relay)!;
    victim.daemon.kill();
    const killedAt = Date.now();
    // One ping every 100 ms until one gets through.
    await eventually(() => ping(lab, a.container, d.container.ip, 1).then(() => undefined), 10_000, 100);
    const recovered = Date.now() - killedAt;
    expect(recovered).toBeLessThan(5000);
    const peer = (await a.daemon.status()).mesh!.peers.find((p) => p.name === 'd')!;
    expect(peer.nextHop).toBe(relay === 'b' ? 'c' : 'b');
  });
});
