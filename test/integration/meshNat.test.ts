// Mesh peers found as weave finds them: by the addresses their connections
// come from, with no --public-ip and no default route; behind NAT routers
// (MASQUERADE, and --random-fully for a symmetric NAT) with a public peer
// between the sites; and a multi-homed host whose default route is on an
// interface its peers cannot reach.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { addMeshContainer, meshArgs, type MeshSide } from '../../src/lab/meshHosts.js';
import { Internet, type NatMode, type NatSite } from '../../src/lab/internet.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;
const SENDER = fileURLToPath(new URL('../helpers/sendDatagrams.mjs', import.meta.url));

const variants: [string, string[]][] = [
  ['sleeve, encrypted', ['--backend', 'sleeve', '--password', 'nat secret']],
  ['udp', ['--backend', 'udp']],
  ['vxlan', ['--backend', 'vxlan']],
];

async function peerView(daemon: LabDaemon, name: string) {
  const mesh = (await daemon.status()).mesh!;
  return mesh.peers.find((p) => p.name === name)!;
}

/**
 * A public peer r on the underlay and two sites behind NAT routers, a
 * (MASQUERADE) and b (`modeB`), one host each, with a container behind each
 * host. The sites' hosts name the public peer only; it names nobody.
 */
async function twoSites(lab: Lab, modeB: NatMode, args: string[]) {
  const public1 = await lab.addHost('r');
  const internet = await Internet.create(lab);
  await internet.reach(public1);
  const siteA = await internet.addSite('a', '192.168.71', ['a1']);
  const siteB = await internet.addSite('b', '192.168.72', ['b1'], modeB);
  const [dr, da, db] = await Promise.all([
    lab.startDaemon(public1, meshArgs(public1, [], args), 40_000),
    lab.startDaemon(siteA.hosts[0], meshArgs(siteA.hosts[0], [public1], args), 40_000),
    lab.startDaemon(siteB.hosts[0], meshArgs(siteB.hosts[0], [public1], args), 40_000),
  ]);
  return {
    siteA,
    siteB,
    r: await addMeshContainer(lab, public1, dr),
    a: await addMeshContainer(lab, siteA.hosts[0], da),
    b: await addMeshContainer(lab, siteB.hosts[0], db),
  };
}

describe.each(variants)('two sites behind NAT routers, a public peer between them (%s)', (_variant, args) => {
  let lab: Lab;
  let stranger: LabHost;
  let siteA: NatSite;
  let siteB: NatSite;
  let r: MeshSide;
  let a: MeshSide;
  let b: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    stranger = await lab.addHost('x');
    ({ siteA, siteB, r, a, b } = await twoSites(lab, 'random-fully', args));
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gives each host a block; the public peer knows each site host at its router, and each learns it is behind a NAT', async () => {
    expect(new Set([r.subnet, a.subnet, b.subnet]).size).toBe(3);
    await eventually(async () => {
      for (const [side, site] of [[a, siteA], [b, siteB]] as const) {
        const seen = await peerView(r.daemon, side.host.name);
        expect(seen).toMatchObject({ reach: 'direct', nat: 'behind-nat', subnet: side.subnet });
        expect(seen.endpoint).toMatch(new RegExp(`^${site.router.ip.replaceAll('.', '\\.')}:\\d+$`));
        expect(seen.udpSeenAt).toBe(seen.endpoint);
      }
      expect((await r.daemon.status()).mesh!.nat).toBe('none');
    }, 15_000);
  });

  it('carries a transfer from one site to the other through the public peer, and says so', async () => {
    await eventually(async () => expect(await peerView(a.daemon, b.host.name)).toMatchObject({ reach: 'relayed', nextHop: r.host.name }), 10_000);
    expect(await ping(lab, a.container, b.container.ip)).toMatch(/3 received/);
    const relayedBefore = (await r.daemon.status()).counters.relayed;
    const result = await transfer(lab, a.container, b.container, 10 * MB);
    expect(result.received).toEqual(result.sent);
    expect((await r.daemon.status()).counters.relayed - relayedBefore).toBeGreaterThan(1000);
    const back = await transfer(lab, b.container, r.container, 5 * MB, 5002);
    expect(back.received).toEqual(back.sent);
  });

  it.each([['a (MASQUERADE)', 0], ['b (--random-fully)', 1]])('follows site %s losing its NAT mappings during a transfer, within 5 s', async (_name, index) => {
    const [side, site] = index === 0 ? [a, siteA] : [b, siteB];
    const endpointBefore = (await peerView(r.daemon, side.host.name)).endpoint;
    // 6 MB at 2 MB/s: the mappings go a second in, with most of the transfer still to come.
    const running = transfer(lab, r.container, side.container, 6 * MB, 5003, 2 * MB);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await site.flush();
    const flushed = Date.now();
    await eventually(async () => {
      expect(await ping(lab, r.container, side.container.ip, 1)).toMatch(/1 received/);
      expect(await ping(lab, side.container, r.container.ip, 1)).toMatch(/1 received/);
    }, 5_000, 100);
    expect(Date.now() - flushed).toBeLessThan(5_000);
    const result = await running;
    expect(result.received).toEqual(result.sent);
    const endpointAfter = (await peerView(r.daemon, side.host.name)).endpoint;
    expect(endpointAfter).toMatch(new RegExp(`^${site.router.ip.replaceAll('.', '\\.')}:`));
    // A symmetric NAT maps the data socket anew, at a random port: the endpoint followed it.
    if (index === 1) expect(endpointAfter).not.toBe(endpointBefore);
  }, 60_000);

  it('moves no endpoint for forged probes: each is counted, and traffic goes on', async () => {
    const status = await r.daemon.status();
    const before = status.mesh!.probes;
    const endpoints = status.mesh!.peers.map((p) => p.endpoint);
    // The probe's magic, then a random id, counter and tag: 2,000 of them from a host outside the mesh.
    const file = join(lab.dir, 'forged-probes.hex');
    const forged = Array.from({ length: 2000 }, () => Buffer.concat([Buffer.from('TSP\x01', 'latin1'), randomBytes(28)]).toString('hex'));
    writeFileSync(file, forged.join('\n') + '\n');
    await lab.exec(stranger.ns, process.execPath, [SENDER, r.host.ip, String(status.port), file], 60_000);
    await eventually(async () => {
      const after = (await r.daemon.status()).mesh!.probes;
      expect(after.unknownId + after.badTag - before.unknownId - before.badTag).toBe(2000);
    });
    const after = await r.daemon.status();
    expect(after.mesh!.peers.map((p) => p.endpoint)).toEqual(endpoints);
    expect(await ping(lab, a.container, b.container.ip)).toMatch(/3 received/);
  });
});

describe('a multi-homed host whose default route is on an interface its peers cannot reach', () => {
  let lab: Lab;
  let m: MeshSide;
  let h: MeshSide;
  let j: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    const mHost = await lab.addHost('m');
    const hHost = await lab.addHost('h');
    const jHost = await lab.addHost('j');
    // m's second interface: a "public" network no peer is on, holding m's default route.
    const outside = await lab.addSandbox('outside');
    await lab.exec(outside, 'ip', ['link', 'add', 'pub', 'type', 'bridge']);
    await lab.exec(outside, 'ip', ['addr', 'add', '172.31.9.254/24', 'dev', 'pub']);
    await lab.exec(outside, 'ip', ['link', 'set', 'pub', 'up']);
    await lab.plug(mHost.ns, 'eth1', { ns: outside, bridge: 'pub' }, 'v-m1', '172.31.9.1/24');
    await lab.exec(mHost.ns, 'ip', ['route', 'add', 'default', 'via', '172.31.9.254']);
    // m names nobody, h names m, j names h only: j finds m by what h sees of it.
    const dm = await lab.startDaemon(mHost, meshArgs(mHost, []), 40_000);
    const dh = await lab.startDaemon(hHost, meshArgs(hHost, [mHost]), 40_000);
    const dj = await lab.startDaemon(jHost, meshArgs(jHost, [hHost]), 40_000);
    m = await addMeshContainer(lab, mHost, dm);
    h = await addMeshContainer(lab, hHost, dh);
    j = await addMeshContainer(lab, jHost, dj);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('is known by the address its peers reach it at, and dialled there by a peer that learnt of it by gossip', async () => {
    await eventually(async () => {
      expect(await peerView(h.daemon, 'm')).toMatchObject({ reach: 'direct', endpoint: `${m.host.ip}:6784`, nat: 'none' });
      expect(await peerView(j.daemon, 'm')).toMatchObject({ reach: 'direct', endpoint: `${m.host.ip}:6784` });
    }, 15_000);
    // Whichever of j and m dialled first: their connection runs over the underlay address.
    for (const [side, other] of [[j, m], [m, j]]) {
      const mesh = (await side.daemon.status()).mesh!;
      expect(mesh.connections.find((c) => c.name === other.host.name)?.address).toMatch(new RegExp(`^${other.host.ip.replaceAll('.', '\\.')}:\\d+$`));
      expect(mesh.targets.some((t) => t.address.startsWith('172.31.'))).toBe(false);
    }
    expect((await m.daemon.status()).publicIp).toBeNull();
  });

  it('carries traffic both ways between its containers and the others', async () => {
    const there = await transfer(lab, j.container, m.container, 10 * MB);
    expect(there.received).toEqual(there.sent);
    const back = await transfer(lab, m.container, h.container, 10 * MB, 5002);
    expect(back.received).toEqual(back.sent);
  });
});

describe.each(variants.slice(0, 2))('two sites behind endpoint-independent NATs (%s)', (_variant, args) => {
  let lab: Lab;
  let siteA: NatSite;
  let r: MeshSide;
  let a: MeshSide;
  let b: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    ({ siteA, r, a, b } = await twoSites(lab, 'masquerade', args));
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('punches a direct UDP path between the sites, coordinated through the public peer, and carries a transfer over it', async () => {
    await eventually(async () => {
      expect(await peerView(a.daemon, b.host.name)).toMatchObject({ reach: 'punched', nextHop: r.host.name });
      expect(await peerView(b.daemon, a.host.name)).toMatchObject({ reach: 'punched', nextHop: r.host.name });
    }, 15_000);
    const relayedBefore = (await r.daemon.status()).counters.relayed;
    const result = await transfer(lab, a.container, b.container, 10 * MB);
    expect(result.received).toEqual(result.sent);
    // Straight from site to site: the public peer relays none of it.
    expect((await r.daemon.status()).counters.relayed - relayedBefore).toBe(0);
  });

  it('goes back to the relay when the punched path stops, and carries traffic on', async () => {
    // Site a's router stops passing UDP between the sites; the mesh's own connections stay.
    const siteB = (await peerView(r.daemon, b.host.name)).endpoint!.split(':')[0];
    await lab.exec(siteA.router.ns, 'iptables', ['-I', 'FORWARD', '-p', 'udp', '-d', siteB, '-j', 'DROP']);
    await lab.exec(siteA.router.ns, 'iptables', ['-I', 'FORWARD', '-p', 'udp', '-s', siteB, '-j', 'DROP']);
    await eventually(async () => expect(await peerView(a.daemon, b.host.name)).toMatchObject({ reach: 'relayed', nextHop: r.host.name }), 15_000);
    const result = await transfer(lab, a.container, b.container, 5 * MB, 5002);
    expect(result.received).toEqual(result.sent);
  }, 30_000);
});
