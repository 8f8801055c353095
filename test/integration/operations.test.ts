// What an operator sees and touches: status and its views, /metrics, stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { blockLink, meshArgs, type MeshSide, startMesh } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { metric, metrics } from '../helpers/metrics.js';
import { ping } from '../helpers/traffic.js';

describe('status, metrics and stop on a 3-host mesh (a line a-b-c)', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    await blockLink(lab, hosts[0], hosts[2]);
    await blockLink(lab, hosts[2], hosts[0]);
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const cli = (side: MeshSide, ...args: string[]) => lab.exec(side.host.ns, process.execPath, [TSOVERLAY_BIN, ...args, '--api', side.daemon.apiSocket]);

  it('reports mode, peers, connections, targets, routes, DNS and allocation', async () => {
    const [a, b, c] = sides;
    await eventually(async () => expect((await a.daemon.status()).mesh!.peers.filter((p) => p.reachable)).toHaveLength(2), 15_000);
    const s = await a.daemon.status();
    expect(s).toMatchObject({ version: '0.1.0', mode: 'mesh', backend: 'sleeve', subnet: a.subnet, network: '10.32.0.0/12' });
    expect(s.mesh).toMatchObject({ name: 'a', controlPort: 6783, ipam: { range: '10.32.0.0/12', blockLen: 24, founder: 'a', block: a.subnet } });
    expect(s.mesh!.connections.map((x) => x.name)).toEqual(['b']);
    expect(s.mesh!.peers.find((p) => p.name === 'c')).toMatchObject({ reachable: true, nextHop: 'b', hops: 2, subnet: c.subnet });
    expect(s.routes.map((r) => r.subnet).sort()).toEqual([b.subnet, c.subnet].sort());
    expect(s.dns).toMatchObject({ domain: 'weave.local.', listen: `${a.subnet.replace(/0\/24$/, '1')}:53` });

    const human = await cli(a, 'status');
    expect(human).toMatch(/Mode: mesh/);
    expect(human).toMatch(/Peers: 2 known, 2 reachable, 1 connected/);
    // weave's Connections section: the count, then each connection (b dialled a) and each target not connected.
    expect(human).toMatch(/\n    Connections: \d+ \(1 established(, \d+ \w+)*\)\n {17}-> 10\.201\.0\.2:\d+ established in b\(.*\) sleeve mtu=\d+ udp=10\.201\.0\.2:6784( \(guessed\))?\n/);
    expect(human).toMatch(new RegExp(`c \\(.*\\) ${c.subnet.replace(/\./g, '\\.').replace('/', '\\/')} relayed via b \\(2 hops\\)`));
    expect(JSON.parse(await cli(a, 'status', 'peers', '--json')).map((p: { name: string }) => p.name).sort()).toEqual(['b', 'c']);
    expect(await cli(a, 'status', 'routes')).toContain(`${c.subnet} via ${hosts[1].ip}:6784`);
    expect(await cli(a, 'status', 'connections')).toMatch(/established in b\(/); // b dialled a
    expect(await cli(a, 'status', 'ipam')).toMatch(/founder a/);
    const dot = await cli(a, 'status', '--dot');
    expect(dot).toMatch(/^digraph tsoverlay \{/);
    expect(dot).toContain('"b" -> "c";');
  });

  it('moves its /metrics counters with traffic: packets per direction and per peer, relays, drops', async () => {
    const [a, b, c] = sides;
    const before = [await metrics(a.daemon), await metrics(b.daemon)];
    expect(await ping(lab, a.container, c.container.ip, 5)).toMatch(/5 received/);
    await ping(lab, a.container, '10.47.0.1', 2).catch(() => '');
    const after = [await metrics(a.daemon), await metrics(b.daemon)];
    const tx = /tsoverlay_packets_total\{direction="tx",backend="sleeve"\} (\d+)/;
    const relayed = /tsoverlay_packets_total\{direction="relayed",backend="sleeve"\} (\d+)/;
    const noRoute = /tsoverlay_drops_total\{reason="no_route"\} (\d+)/;
    const toB = new RegExp(`tsoverlay_peer_packets_total\\{peer="${hosts[1].ip.replace(/\./g, '\\.')}",direction="tx"\\} (\\d+)`);
    expect(metric(after[0], tx) - metric(before[0], tx)).toBeGreaterThanOrEqual(5);
    expect(metric(after[0], toB) - metric(before[0], toB)).toBeGreaterThanOrEqual(5);
    expect(metric(after[1], relayed) - metric(before[1], relayed)).toBeGreaterThanOrEqual(10);
    expect(metric(after[0], noRoute) - metric(before[0], noRoute)).toBe(2);
    expect(after[0]).toMatch(/tsoverlay_mesh_peers\{state="reachable"\} 2/);
    expect(after[0]).toMatch(/# TYPE tsoverlay_drops_total counter/);
  });

  it('exposes the host on the overlay with a name, reachable from a container two hops away, and hides it again', async () => {
    const [a, , c] = sides;
    const address = a.subnet.replace(/0\/24$/, '250');
    expect((await cli(a, 'expose', address, '--name', 'host-a')).trim()).toBe(address);
    lab.setResolver(c.container.ns, c.subnet.replace(/0\/24$/, '1'), 'weave.local');
    await eventually(async () => expect(await lab.exec(c.container.ns, 'ping', ['-c', '1', '-W', '2', 'host-a'])).toMatch(/1 received/), 10_000);
    expect(await lab.exec(a.host.ns, 'ping', ['-c', '1', '-W', '2', '-I', address, c.container.ip])).toMatch(/1 received/);
    await expect(cli(a, 'expose', '10.99.99.1')).rejects.toThrow(/not in this host's block/);
    await cli(a, 'hide', address);
    await expect(lab.exec(c.container.ns, 'ping', ['-c', '1', '-W', '1', address])).rejects.toThrow(/0 received|100% packet loss/);
    await eventually(async () => expect(await lab.exec(c.container.ns, 'dig', [`@${c.subnet.replace(/0\/24$/, '1')}`, 'host-a.weave.local'])).toMatch(/NXDOMAIN/), 10_000);
  });
});

describe('stop and restart leave nothing behind', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.create();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('logs JSON lines when not at a terminal, at the level asked for', async () => {
    const host = await lab.addHost('q');
    const quiet = await lab.startDaemon(host, [...meshArgs(host, []), '--log-level', 'warn'], 30_000);
    const loud = quiet.log; // started and ready: several info events, none shown
    expect(loud).not.toMatch(/"level":30/);
    await quiet.stop();
    const chatty = await lab.startDaemon(host, meshArgs(host, []), 30_000);
    const lines = chatty.log.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; pid: number });
    expect(lines.map((l) => l.msg)).toContain('ready');
    expect(lines.every((l) => typeof l.level === 'number' && l.pid === chatty.pid)).toBe(true);
    await chatty.stop();
  });

  it('removes its TUN, routes and bridge, and exits, at `tsoverlay stop`; and again after a restart', async () => {
    const host = await lab.addHost('a');
    const daemon = await lab.startDaemon(host, meshArgs(host, []), 30_000);
    for (let round = 0; round < 2; round++) {
      expect(await lab.exec(host.ns, 'ip', ['-o', 'link', 'show'])).toMatch(/tso0.*tsobr|tsobr[\s\S]*tso0|tso0[\s\S]*tsobr/);
      const pid = daemon.pid!;
      await lab.exec(host.ns, process.execPath, [TSOVERLAY_BIN, 'stop', '--api', daemon.apiSocket]);
      await eventually(async () => expect(() => process.kill(pid, 0)).toThrow(), 10_000);
      const links = await lab.exec(host.ns, 'ip', ['-o', 'link', 'show']);
      expect(links, `round ${round}; daemon log:\n${daemon.log}`).not.toMatch(/tso0|tsobr/);
      expect(await lab.exec(host.ns, 'ip', ['route', 'show'])).not.toMatch(/10\.32\./);
      if (round === 0) await daemon.start(30_000);
    }
  });
});
