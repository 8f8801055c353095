// Subnets agreed without a store: many peers at once, and a partition that heals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { addMeshContainer, blockLink, meshArgs, type MeshSide, unblockLink } from '../../src/lab/meshHosts.js';
import { cidrOverlaps, parseCidr } from '../../src/net/ipv4.js';
import { eventually } from '../helpers/eventually.js';
import { ping } from '../helpers/traffic.js';

function expectDisjoint(subnets: string[]): void {
  for (let i = 0; i < subnets.length; i++) {
    for (let j = i + 1; j < subnets.length; j++) expect(cidrOverlaps(parseCidr(subnets[i]), parseCidr(subnets[j])), `${subnets[i]} vs ${subnets[j]}`).toBe(false);
  }
}

describe('6 peers launched at once, each told only one seed', () => {
  let lab: Lab;
  let daemons: LabDaemon[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (let i = 0; i < 6; i++) hosts.push(await lab.addHost(`p${i}`));
    // A tree of seeds: p1 and p2 know p0, p3 and p4 know p1, p5 knows p2; p0 knows p1.
    const seed = (i: number) => hosts[i === 0 ? 1 : Math.floor((i - 1) / 2)];
    daemons = await Promise.all(hosts.map((h, i) => lab.startDaemon(h, meshArgs(h, [seed(i)]), 60_000)));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('all connect to all, and hold disjoint blocks', async () => {
    await eventually(async () => {
      for (const d of daemons) expect((await d.status()).mesh!.connections).toHaveLength(5);
    }, 30_000);
    const statuses = await Promise.all(daemons.map((d) => d.status()));
    expectDisjoint(statuses.map((s) => s.subnet));
    // Everyone agrees on everyone's block.
    for (const s of statuses) {
      for (const p of s.mesh!.peers) expect(p.subnet).toBe(statuses.find((o) => o.mesh!.name === p.name)!.subnet);
    }
    expect(new Set(statuses.map((s) => s.mesh!.ipam.founder)).size).toBe(1);
  });
});

describe('a 2+2 partition that heals', () => {
  let lab: Lab;
  let hosts: LabHost[];
  const sides: MeshSide[] = [];

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [];
    for (const n of ['a', 'b', 'c', 'd', 'e']) hosts.push(await lab.addHost(n));
    const [a, b, c, d] = hosts;
    const daemons = await Promise.all([a, b, c, d].map((h, i) => lab.startDaemon(h, meshArgs(h, i === 0 ? [] : [a]), 60_000)));
    for (let i = 0; i < 4; i++) sides.push(await addMeshContainer(lab, hosts[i], daemons[i]));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const cut = async (left: LabHost[], right: LabHost[], join: boolean) => {
    for (const x of left) for (const y of right) {
      await (join ? unblockLink : blockLink)(lab, x, y);
      await (join ? unblockLink : blockLink)(lab, y, x);
    }
  };

  it('keeps every block through the partition, gives a newcomer space on one side, and heals to full connectivity', async () => {
    const [a, b, c, d, e] = hosts;
    const before = sides.map((s) => s.subnet);
    expectDisjoint(before);
    await cut([a, b, e], [c, d], false);
    await eventually(async () => {
      const peers = (await sides[0].daemon.status()).mesh!.peers;
      expect(peers.filter((p) => p.reachable).map((p) => p.name).sort()).toEqual(['b']);
    }, 20_000);

    // A newcomer joins the a/b side while the partition lasts.
    const de = await lab.startDaemon(e, meshArgs(e, [b]), 60_000);
    sides.push(await addMeshContainer(lab, e, de));

    await cut([a, b, e], [c, d], true);
    await eventually(async () => {
      for (const s of sides) {
        const peers = (await s.daemon.status()).mesh!.peers;
        expect(peers.filter((p) => p.reachable)).toHaveLength(4);
      }
    }, 40_000);
    const after = await Promise.all(sides.map(async (s) => (await s.daemon.status()).subnet));
    expect(after.slice(0, 4)).toEqual(before);
    expectDisjoint(after);
    for (const from of sides) {
      for (const to of sides) {
        if (from !== to) await eventually(async () => expect(await ping(lab, from.container, to.container.ip, 1)).toMatch(/1 received/), 10_000);
      }
    }
  }, 180_000);
});
