// Real dockerds on a mesh line A-B-C (the ends meet only through B), each
// with its own plugin directory, putting containers on the overlay through
// tsoverlay's network and IPAM plugin; names for them come from dockerd's
// events. Containers reach each other across hosts by name.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_IMAGE } from '../../src/lab/busyboxImage.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { LabDocker } from '../../src/lab/labDocker.js';
import { meshArgs, onlyLinks } from '../../src/lab/meshHosts.js';
import { cidrContains, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { eventually } from '../helpers/eventually.js';
import { pluginCall } from '../helpers/pluginCall.js';

const NET = 'tsonet';

interface DockerSide {
  host: LabHost;
  daemon: LabDaemon;
  docker: LabDocker;
  pluginDir: string;
  subnet: string;
  /** The bridge's address: the daemon's DNS answers there. */
  dns: string;
}

async function inspectIp(side: DockerSide, container: string): Promise<string> {
  return (await side.docker.docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, container)).trim();
}

async function runOn(side: DockerSide, name: string, ...command: string[]): Promise<string> {
  await side.docker.docker('run', '-d', '--net', NET, '--dns', side.dns, '--name', name, LAB_IMAGE, ...command);
  return inspectIp(side, name);
}

/** What the host's DNS server answers for a name (sorted, one per line). */
async function resolve(lab: Lab, side: DockerSide, name: string): Promise<string> {
  const out = await lab.exec(side.host.ns, 'dig', [`@${side.dns}`, '+tries=1', '+time=3', '+short', name]);
  return out.trim().split('\n').filter(Boolean).sort().join('\n');
}

describe('docker network create -d tsoverlay on a mesh line A-B-C', () => {
  let lab: Lab;
  let sides: DockerSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (const n of ['a', 'b', 'c']) hosts.push(await lab.addHost(n));
    await onlyLinks(lab, hosts, ['a-b', 'b-c']);
    const dockers = hosts.map((h) => new LabDocker(lab, h));
    const pluginDirs = hosts.map((h) => join(lab.dir, `plugins-${h.name}`));
    const daemons = await Promise.all(hosts.map((h, i) => lab.startDaemon(h, meshArgs(h, i > 0 ? [hosts[i - 1]] : [], [
      '--docker-plugin-dir', pluginDirs[i], '--docker-api', `unix://${dockers[i].socket}`,
    ]), 40_000)));
    sides = [];
    for (let i = 0; i < hosts.length; i++) {
      await dockers[i].startWith(['--live-restore'], pluginDirs[i]);
      await dockers[i].importImage();
      const status = await daemons[i].status();
      await dockers[i].docker('network', 'create', '-d', 'tsoverlay', '--ipam-driver', 'tsoverlay', '--subnet', status.subnet, NET);
      sides.push({ host: hosts[i], daemon: daemons[i], docker: dockers[i], pluginDir: pluginDirs[i], subnet: status.subnet, dns: status.bridgeAddress.split('/')[0] });
    }
  }, 240_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('refuses a network without --subnet, naming the subnet to give', async () => {
    const a = sides[0];
    await expect(a.docker.docker('network', 'create', '-d', 'tsoverlay', '--ipam-driver', 'tsoverlay', 'nosubnet')).rejects.toThrow(`--subnet ${a.subnet}`);
  });

  it('gives containers addresses from the upper half of the block, the overlay MTU, and names on every host', async () => {
    const ips: string[] = [];
    for (const side of sides) {
      const ip = await runOn(side, `web-${side.host.name}`, 'httpd', '-f', '-p', '80', '-h', '/');
      const subnet = parseCidr(side.subnet);
      expect(cidrContains(subnet, parseIPv4(ip))).toBe(true);
      expect(parseIPv4(ip) - subnet.addr).toBeGreaterThanOrEqual(128);
      expect((await side.docker.docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").Gateway}}`, `web-${side.host.name}`)).trim()).toBe(side.dns);
      const mtu = (await side.daemon.status()).mtu;
      expect(await side.docker.exec(`web-${side.host.name}`, 'cat', '/sys/class/net/eth0/mtu')).toBe(`${mtu}\n`);
      ips.push(ip);
    }
    for (const from of sides) {
      for (const [i, named] of sides.entries()) {
        await eventually(async () => expect(await resolve(lab, from, `web-${named.host.name}.weave.local`)).toBe(ips[i]), 5_000);
      }
    }
  });

  it('fetches 8 MB by name from A\'s container to C\'s, relayed by B, checksums equal', async () => {
    const [a, , c] = sides;
    await a.docker.exec('web-a', 'dd', 'if=/dev/urandom', 'of=/blob', 'bs=1048576', 'count=8');
    const want = (await a.docker.exec('web-a', 'sha256sum', '/blob')).split(' ')[0];
    await eventually(async () => {
      await c.docker.exec('web-c', 'wget', '-q', '-O', '/got', 'http://web-a.weave.local/blob');
    }, 15_000, 500);
    expect((await c.docker.exec('web-c', 'sha256sum', '/got')).split(' ')[0]).toBe(want);
  });

  it('takes the name back on every host, and the address, when a container is removed', async () => {
    const c = sides[2];
    const before = (await c.daemon.status()).docker!.plugin!.allocated;
    const ip = await runOn(c, 'brief', 'sleep', '600');
    let since = Date.now();
    for (const from of sides) await eventually(async () => expect(await resolve(lab, from, 'brief.weave.local')).toBe(ip), 5_000, 50);
    const appeared = Date.now() - since;
    expect((await c.daemon.status()).docker!.plugin!.allocated).toBe(before + 1);
    await c.docker.docker('rm', '-f', 'brief');
    since = Date.now();
    for (const from of sides) await eventually(async () => expect(await resolve(lab, from, 'brief.weave.local')).toBe(''), 5_000, 50);
    process.stdout.write(`docker names: on every host ${appeared} ms after docker run returned, gone from every host ${Date.now() - since} ms after docker rm returned\n`);
    expect((await c.daemon.status()).docker!.plugin!.allocated).toBe(before);
  });

  it('keeps running containers and their addresses across a dockerd restart; a new one gets a fresh address', async () => {
    const b = sides[1];
    const ip = await inspectIp(b, 'web-b');
    await b.docker.stopDaemon();
    await b.docker.startWith(['--live-restore'], b.pluginDir);
    expect(await inspectIp(b, 'web-b')).toBe(ip);
    expect(await b.docker.exec('web-b', 'ip', '-4', '-o', 'addr', 'show', 'eth0')).toContain(`${ip}/`);
    const fresh = await runOn(b, 'after-dockerd', 'sleep', '600');
    const taken = await Promise.all(sides.map((s) => inspectIp(s, `web-${s.host.name}`)));
    expect(taken).not.toContain(fresh);
    // Followed again without a restart of tsoverlay: the new container is named.
    await eventually(async () => expect(await resolve(lab, sides[0], 'after-dockerd.weave.local')).toBe(fresh), 10_000);
    await eventually(async () => {
      await b.docker.exec('after-dockerd', 'wget', '-q', '-O', '/dev/null', 'http://web-a.weave.local/bin/busybox');
    }, 15_000, 500);
  });

  it('keeps addresses and names across a tsoverlay restart with running containers', async () => {
    const [a, , c] = sides;
    const held = (await a.daemon.status()).docker!.plugin!;
    const ip = await inspectIp(a, 'web-a');
    await a.daemon.stop();
    await a.daemon.start(40_000);
    const after = (await a.daemon.status()).docker!.plugin!;
    expect([after.allocated, after.endpoints, after.networks]).toEqual([held.allocated, held.endpoints, held.networks]);
    const fresh = await runOn(a, 'after-tsoverlay', 'sleep', '600');
    expect(fresh).not.toBe(ip);
    for (const from of sides) await eventually(async () => expect(await resolve(lab, from, 'web-a.weave.local')).toBe(ip), 15_000);
    await eventually(async () => {
      await c.docker.exec('web-c', 'wget', '-q', '-O', '/dev/null', 'http://web-a.weave.local/bin/busybox');
    }, 20_000, 500);
  });

  it('removes a network, and refuses to while a container is on it', async () => {
    const c = sides[2];
    const before = (await c.daemon.status()).docker!.plugin!;
    await c.docker.docker('network', 'create', '-d', 'tsoverlay', '--ipam-driver', 'tsoverlay', '--subnet', c.subnet, 'second');
    expect((await c.daemon.status()).docker!.plugin!.networks).toBe(before.networks + 1);
    await c.docker.docker('run', '-d', '--net', 'second', '--name', 'on-second', LAB_IMAGE, 'sleep', '600');
    await expect(c.docker.docker('network', 'rm', 'second')).rejects.toThrow(/active endpoints/);
    await c.docker.docker('rm', '-f', 'on-second');
    await c.docker.docker('network', 'rm', 'second');
    const after = (await c.daemon.status()).docker!.plugin!;
    expect([after.networks, after.endpoints, after.allocated]).toEqual([before.networks, before.endpoints, before.allocated]);
  });

  it('answers bad requests with {"Err"} and leaks no address; unknown methods 404', async () => {
    const a = sides[0];
    const socket = join(a.pluginDir, 'tsoverlay.sock');
    const status = await a.daemon.status();
    const pool = `tsoverlay/${status.subnet}`;
    const before = status.docker!.plugin!;
    const prefix = status.subnet.replace(/\.0\/24$/, '');
    const err = async (method: string, body: unknown) => {
      const r = await pluginCall(socket, method, body);
      expect(r.status, `${method} ${JSON.stringify(body)}`).toBe(500);
      expect(typeof r.body.Err).toBe('string');
      return r.body.Err as string;
    };
    expect((await pluginCall(socket, 'NetworkDriver.NoSuchThing')).status).toBe(404);
    expect(await err('IpamDriver.RequestAddress', '{"PoolID": ')).toMatch(/not JSON/);
    expect(await err('IpamDriver.RequestAddress', '[1,2]')).toMatch(/not a JSON object/);
    expect(await err('IpamDriver.RequestAddress', { PoolID: 'tsoverlay/10.1.2.0/24' })).toMatch(/unknown pool/);
    expect(await err('IpamDriver.RequestAddress', { PoolID: 7 })).toMatch(/PoolID must be a string/);
    expect(await err('IpamDriver.RequestAddress', { PoolID: pool, Address: '192.168.9.9' })).toMatch(/outside this host's subnet/);
    expect(await err('IpamDriver.RequestAddress', { PoolID: pool, Address: `${prefix}.5` })).toMatch(/outside the addresses/);
    expect(await err('IpamDriver.RequestAddress', { PoolID: pool, Address: await inspectIp(a, 'web-a') })).toMatch(/already in use/);
    expect(await err('IpamDriver.RequestPool', { Pool: '10.1.0.0/16' })).toMatch(/this host's subnet/);
    expect(await err('NetworkDriver.Join', { NetworkID: 'nope', EndpointID: 'x'.repeat(64) })).toMatch(/unknown endpoint/);
    expect(await err('NetworkDriver.CreateEndpoint', { NetworkID: 'nope', EndpointID: 'e'.repeat(64) })).toMatch(/unknown network/);
    // Exhausted: every free address taken, then one more asked for.
    const got: string[] = [];
    for (;;) {
      const r = await pluginCall(socket, 'IpamDriver.RequestAddress', { PoolID: pool });
      if (r.status !== 200) {
        expect(r.body.Err).toMatch(/no free address/);
        break;
      }
      got.push((r.body.Address as string).split('/')[0]);
      expect(got.length).toBeLessThanOrEqual(127);
    }
    expect(new Set(got).size).toBe(got.length);
    expect(got.length + before.allocated).toBe(127);
    for (const ip of got) expect((await pluginCall(socket, 'IpamDriver.ReleaseAddress', { PoolID: pool, Address: ip })).status).toBe(200);
    const after = (await a.daemon.status()).docker!.plugin!;
    expect(after.allocated).toBe(before.allocated);
    expect(after.counters.refused).toBeGreaterThanOrEqual(before.counters.refused + 11);
    expect(after.counters.unknownMethod).toBe(before.counters.unknownMethod + 1);
  });
});
