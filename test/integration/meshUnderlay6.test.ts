// A mesh over an IPv6 underlay: peers named by IPv6 address (bare and
// [addr]:port), control connections and sealed datagrams over IPv6, a relay
// where two hosts cannot reach each other, and a host that reaches one
// neighbour over IPv4 and another over IPv6.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { addMeshContainer, MESH_BRIDGE, type MeshSide } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

describe('an encrypted mesh line a - b - c over IPv6, a and c apart, and d joining b over IPv4', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let six: string[];
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c'), await lab.addHost('d')];
    six = [];
    for (const h of hosts.slice(0, 3)) six.push(await lab.addUnderlayIPv6(h));
    // a and c share no path, on either family; d has no IPv6 at all.
    for (const [x, y] of [[0, 2], [2, 0]]) {
      await lab.exec(hosts[x].ns, 'ip6tables', ['-A', 'INPUT', '-s', six[y], '-j', 'DROP']);
      await lab.exec(hosts[x].ns, 'iptables', ['-A', 'INPUT', '-s', hosts[y].ip, '-j', 'DROP']);
    }
    const args = (h: LabHost, peers: string[]) => ['--bridge', MESH_BRIDGE, '--name', h.name, '--password', 'mesh over ipv6', '--ipv6', ...peers];
    const daemons = await Promise.all([
      lab.startDaemon(hosts[0], args(hosts[0], [six[1]]), 40_000),
      // The seed names no peer: --listen :: takes IPv6 peers (and, dual stack, IPv4 ones).
      lab.startDaemon(hosts[1], ['--listen', '::', ...args(hosts[1], [])], 40_000),
      lab.startDaemon(hosts[2], args(hosts[2], [`[${six[1]}]:6783`]), 40_000),
      lab.startDaemon(hosts[3], args(hosts[3], [hosts[1].ip]), 40_000),
    ]);
    sides = [];
    for (let i = 0; i < hosts.length; i++) sides.push(await addMeshContainer(lab, hosts[i], daemons[i]));
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('knows its neighbours at their IPv6 addresses, and d at its IPv4 one', async () => {
    await eventually(async () => {
      const b = await sides[1].daemon.status();
      const endpoint = (name: string) => b.mesh!.peers.find((p) => p.name === name)?.endpoint;
      expect([endpoint('a'), endpoint('c'), endpoint('d')]).toEqual([`[${six[0]}]:6784`, `[${six[2]}]:6784`, `${hosts[3].ip}:6784`]);
    }, 20_000);
  });

  it('carries traffic a to c through b, sealed, and between d and the others', async () => {
    const [a, b, c, d] = sides;
    await eventually(async () => expect(await ping(lab, a.container, c.container.ip)).toMatch(/3 received/), 20_000);
    const r = await transfer(lab, a.container, c.container, 4 * MB + 3, 5700, 0, c.container6!);
    expect(r.received).toEqual(r.sent);
    expect((await b.daemon.status()).counters.relayed).toBeGreaterThan(1000);
    await eventually(async () => expect(await ping(lab, d.container, a.container.ip)).toMatch(/3 received/), 20_000);
    for (const s of sides) {
      const drops = (await s.daemon.status()).counters.drops;
      expect([drops.bad_seal, drops.replay]).toEqual([0, 0]);
    }
  });

  it('finds the mesh again after a restart from the IPv6 addresses it saved', async () => {
    const [a, , c] = sides;
    await c.daemon.stop();
    await c.daemon.start(40_000);
    expect(c.daemon.log).not.toMatch(/saved peer address that does not parse/);
    await eventually(async () => expect(await ping(lab, a.container, c.container.ip)).toMatch(/3 received/), 20_000);
  });
});
