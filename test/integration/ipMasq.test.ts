// --ip-masq (on by default in mesh mode): containers reach a host outside the
// overlay with their host's address as the source, while traffic between
// containers keeps its own; the rules come back when flushed and go at stop.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { type MeshSide, startMesh } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { ping } from '../helpers/traffic.js';

const ECHO4 = { filter: 'icmp[icmptype] == icmp-echo', source: / IP (\d+\.\d+\.\d+\.\d+) > /g };
const ECHO6 = { filter: 'icmp6 and ip6[40] == 128', source: / IP6 ([0-9a-f:]+) > /g };

/** The sources of the ICMP (or ICMPv6) echo requests `ns` sees while `send` pings it (three of them). */
async function echoSources(lab: Lab, ns: string, send: () => Promise<string>, echo = ECHO4): Promise<string[]> {
  const seen = lab.exec(ns, 'tcpdump', ['-i', 'any', '-n', '-l', '-c', '3', echo.filter], 20_000);
  await new Promise((r) => setTimeout(r, 1000)); // tcpdump listening
  expect(await send()).toMatch(/3 received/);
  return [...new Set([...(await seen).matchAll(echo.source)].map((m) => m[1]))];
}

describe('a mesh of two hosts with its default --ip-masq, and a host outside the overlay', () => {
  let lab: Lab;
  let outside: LabHost;
  let a: MeshSide;
  let b: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts = [await lab.addHost('a'), await lab.addHost('b')];
    // On the underlay, not in the mesh: it has no route to any overlay address.
    outside = await lab.addHost('x');
    [a, b] = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('lets a container reach the outside host, which sees the host\'s underlay address', async () => {
    expect(await echoSources(lab, outside.ns, () => ping(lab, a.container, outside.ip))).toEqual([a.host.ip]);
  });

  it('leaves traffic between containers on different hosts with the container\'s own address', async () => {
    expect(await echoSources(lab, b.container.ns, () => ping(lab, a.container, b.container.ip))).toEqual([a.container.ip]);
  });

  it('says so in subnet.env and status, and tells docker not to masquerade its bridge as well', async () => {
    expect(readFileSync(join(a.daemon.runDir, 'subnet.env'), 'utf8')).toMatch(/^FLANNEL_IPMASQ=true$/m);
    expect(readFileSync(join(a.daemon.runDir, 'docker.env'), 'utf8')).toMatch(/--ip-masq=false"/);
    expect((await a.daemon.status()).ipMasq).toEqual({ table: 'ip tsoverlay', restored: 0 });
  });

  it('puts its rules back when someone flushes the ruleset', async () => {
    await lab.exec(a.host.ns, 'nft', ['flush', 'ruleset']);
    await eventually(async () => expect((await a.daemon.status()).ipMasq!.restored).toBe(1), 15_000);
    expect(await ping(lab, a.container, outside.ip)).toMatch(/3 received/);
  });

  it('removes its table at stop, also when someone removed it first', async () => {
    await b.daemon.stop();
    await expect(lab.exec(b.host.ns, 'nft', ['list', 'table', 'ip', 'tsoverlay'])).rejects.toThrow();
    await lab.exec(a.host.ns, 'nft', ['delete', 'table', 'ip', 'tsoverlay']);
    await a.daemon.stop();
    expect(a.daemon.log).toMatch(/"msg":"stopped"/);
    await expect(lab.exec(a.host.ns, 'nft', ['list', 'table', 'ip', 'tsoverlay'])).rejects.toThrow();
  });
});

describe('--ip-masq in a dual-stack mesh, with a host outside the overlay on an IPv6 underlay', () => {
  let lab: Lab;
  let outside: LabHost;
  let a: MeshSide;
  let b: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts = [await lab.addHost('a'), await lab.addHost('b')];
    outside = await lab.addHost('x');
    // The underlay carries IPv6 too: the outside host is reached over it, not through the overlay.
    for (const [i, h] of [...hosts, outside].entries()) await lab.exec(h.ns, 'ip', ['addr', 'add', `fd99::${i + 1}/64`, 'dev', 'eth0', 'nodad']);
    [a, b] = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []), ['--ipv6']);
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  /** The sources of the ICMPv6 echo requests `ns` sees while `from` pings `to` three times. */
  const echoSources6 = (ns: string, from: MeshSide, to: string) =>
    echoSources(lab, ns, () => lab.exec(from.container.ns, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', to], 30_000), ECHO6);

  it('masquerades IPv6 to the outside with the host\'s address, and leaves it alone between containers', async () => {
    expect((await a.daemon.status()).ipMasq!.table).toBe('ip tsoverlay, ip6 tsoverlay');
    expect(await echoSources6(outside.ns, a, 'fd99::3')).toEqual(['fd99::1']);
    expect(await echoSources6(b.container.ns, a, b.container6!)).toEqual([a.container6]);
  });

  it('puts both tables back when someone flushes the ruleset, and removes both at stop', async () => {
    await lab.exec(a.host.ns, 'nft', ['flush', 'ruleset']);
    await eventually(async () => expect((await a.daemon.status()).ipMasq!.restored).toBe(1), 15_000);
    expect(await lab.exec(a.host.ns, 'nft', ['list', 'table', 'ip6', 'tsoverlay'])).toContain('masquerade');
    await a.daemon.stop();
    await expect(lab.exec(a.host.ns, 'nft', ['list', 'table', 'ip6', 'tsoverlay'])).rejects.toThrow();
  });
});
