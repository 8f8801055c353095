// A dual-stack mesh (--ipv6): every host gets the IPv6 block that goes with
// its IPv4 block, gossips it, and routes the others' IPv6 blocks like their
// IPv4 ones: relayed where hosts cannot reach each other, sealed with a
// password, and kept across a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { type MeshSide, onlyLinks, startMesh } from '../../src/lab/meshHosts.js';
import { blockCidr6, blockOf } from '../../src/ipam/blocks.js';
import { parseCidr } from '../../src/net/ipv4.js';
import { formatCidr6, parseCidr6 } from '../../src/net/ipv6Cidr.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

describe('a dual-stack mesh a - b - c, encrypted, where a and c reach each other only through b', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    await onlyLinks(lab, hosts, ['a-b', 'b-c']);
    sides = await startMesh(lab, hosts, (i) => (i === 1 ? [] : [hosts[1]]), ['--ipv6', '--password', 'dual stack mesh']);
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gives each host the IPv6 block of its IPv4 block, shown in status and gossiped', async () => {
    const statuses = await Promise.all(sides.map((s) => s.daemon.status()));
    for (const s of statuses) {
      const block = blockOf({ range: parseCidr('10.32.0.0/12'), blockLen: 24 }, parseCidr(s.subnet))!;
      expect(s.ipv6!.network).toBe('fd00:10:32::/48');
      expect(s.ipv6!.subnet).toBe(formatCidr6(blockCidr6({ range: parseCidr6('fd00:10:32::/48'), blockLen: 64 }, block)));
    }
    expect(new Set(statuses.map((s) => s.ipv6!.subnet)).size).toBe(3);
    await eventually(async () => {
      const a = await sides[0].daemon.status();
      expect(a.mesh!.peers.find((p) => p.name === 'c')!.subnet6).toBe(statuses[2].ipv6!.subnet);
      expect(a.routes.map((r) => r.subnet)).toEqual(expect.arrayContaining([statuses[1].ipv6!.subnet, statuses[2].ipv6!.subnet]));
    }, 15_000);
  });

  it('pings over IPv6 from a to c through b, and moves data intact both ways', async () => {
    const [a, , c] = sides;
    await eventually(async () => expect(await ping(lab, a.container, c.container6!)).toMatch(/3 received/), 15_000);
    const there = await transfer(lab, a.container, c.container, 4 * MB + 1, 5500, 0, c.container6!);
    const back = await transfer(lab, c.container, a.container, MB, 5501, 0, a.container6!);
    expect(there.received).toEqual(there.sent);
    expect(back.received).toEqual(back.sent);
    expect((await sides[1].daemon.status()).counters.relayed).toBeGreaterThan(1000);
    for (const s of sides) expect((await s.daemon.status()).counters.drops.bad_seal).toBe(0);
  });

  it('keeps the IPv6 block across a restart', async () => {
    const c = sides[2];
    const before = (await c.daemon.status()).ipv6!.subnet;
    await c.daemon.stop();
    await c.daemon.start(30_000);
    expect((await c.daemon.status()).ipv6!.subnet).toBe(before);
    // The container and the bridge outlive the daemon.
    await eventually(async () => expect(await ping(lab, sides[0].container, c.container6!)).toMatch(/3 received/), 20_000);
  });
});
