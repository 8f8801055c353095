// The Docker plugin's drivers over a real state file and fake links: what
// Docker's calls get, what is kept, and what is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDockerApiAddress } from '../../src/config/dockerApiAddress.js';
import { parseArgs } from '../../src/config/args.js';
import { launchCommand, parseLaunchConfig } from '../../src/config/launchConfig.js';
import { DockerIpam } from '../../src/docker/dockerIpam.js';
import { NetworkDriver } from '../../src/docker/networkDriver.js';
import { PluginState } from '../../src/docker/pluginState.js';
import { readRequestAddress } from '../../src/docker/pluginProtocol.js';
import type { EndpointLinks } from '../../src/host/veth.js';
import { hostShares } from '../../src/ipam/hostShares.js';
import { formatIPv4, parseCidr } from '../../src/net/ipv4.js';
import { parseCidr6 } from '../../src/net/ipv6Cidr.js';

const SUBNET = parseCidr('10.32.4.0/24');
const POOL = 'tsoverlay/10.32.4.0/24';
const EP = 'a1b2c3d4e5f6'.padEnd(64, '0');

class FakeLinks implements EndpointLinks {
  readonly pairs = new Map<string, { containerEnd: string; bridge: string; mtu: number }>();
  async create(hostEnd: string, containerEnd: string, bridge: string, mtu: number) {
    this.pairs.set(hostEnd, { containerEnd, bridge, mtu });
  }
  async remove(hostEnd: string) {
    this.pairs.delete(hostEnd);
  }
}

describe('docker plugin', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsotest-docker-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const ask = (ipam: DockerIpam, body: Record<string, unknown>) => ipam.requestAddress(readRequestAddress({ PoolID: POOL, ...body }));

  it('splits the subnet: CNI the lower half, Docker the upper, .1 the gateway', () => {
    const s = hostShares(SUBNET);
    expect([s.gateway, s.cni.first, s.cni.last, s.docker.first, s.docker.last].map(formatIPv4)).toEqual(['10.32.4.1', '10.32.4.2', '10.32.4.127', '10.32.4.128', '10.32.4.254']);
    const small = hostShares(parseCidr('10.0.0.16/28'));
    expect([small.cni.first, small.cni.last, small.docker.first, small.docker.last].map(formatIPv4)).toEqual(['10.0.0.18', '10.0.0.23', '10.0.0.24', '10.0.0.30']);
  });

  it('hands out the pool with its gateway, addresses from the upper half, never one twice, also after a restart', async () => {
    const ipam = new DockerIpam(SUBNET, PluginState.load(dir));
    expect(() => ipam.requestPool({ addressSpace: 'tsoverlay', pool: '', subPool: '', v6: false })).toThrow(/--subnet 10.32.4.0\/24/);
    expect(ipam.requestPool({ addressSpace: 'tsoverlay', pool: '10.32.4.1/24', subPool: '', v6: false })).toEqual({ PoolID: POOL, Pool: '10.32.4.0/24', Data: { 'com.docker.network.gateway': '10.32.4.1/24' } });
    expect(() => ipam.requestPool({ addressSpace: 'tsoverlay', pool: '10.32.5.0/24', subPool: '', v6: false })).toThrow(/only/);
    expect(() => ipam.requestPool({ addressSpace: 'tsoverlay', pool: '10.32.4.0/24', subPool: '', v6: true })).toThrow(/no IPv6 subnet/);
    expect(await ask(ipam, { Options: { RequestAddressType: 'com.docker.network.gateway' } })).toEqual({ Address: '10.32.4.1/24', Data: {} });
    expect(await ask(ipam, { Options: { 'com.docker.network.endpoint.macaddress': '02:42:00:00:00:01' } })).toMatchObject({ Address: '10.32.4.128/24' });
    // A replay (same MAC) gets its own address back; another endpoint the next one.
    expect(await ask(ipam, { Options: { 'com.docker.network.endpoint.macaddress': '02:42:00:00:00:01' } })).toMatchObject({ Address: '10.32.4.128/24' });
    expect(await ask(ipam, { Options: { 'com.docker.network.endpoint.macaddress': '02:42:00:00:00:02' } })).toMatchObject({ Address: '10.32.4.129/24' });
    await ipam.releaseAddress(POOL, '10.32.4.128');
    await ipam.releaseAddress(POOL, '10.32.4.128'); // a replay: nothing more to do
    // Released addresses are not reused at once: the search goes on from the last one given.
    const again = new DockerIpam(SUBNET, PluginState.load(dir));
    expect(again.allocated).toBe(1);
    expect(await ask(again, {})).toMatchObject({ Address: '10.32.4.130/24' });
    await expect(ask(again, { Address: '10.32.4.129' })).rejects.toThrow(/already in use/);
    await expect(ask(again, { Address: '10.32.4.129', Options: { 'com.docker.network.endpoint.macaddress': '02:42:00:00:00:02' } })).resolves.toMatchObject({ Address: '10.32.4.129/24' });
    await expect(ask(again, { Address: '10.32.4.20' })).rejects.toThrow(/outside the addresses/);
    await expect(ask(again, { Address: '10.32.5.20' })).rejects.toThrow(/outside this host's subnet/);
    await expect(ask(again, { Address: 'banana' })).rejects.toThrow(/banana/);
    await expect(again.requestAddress(readRequestAddress({ PoolID: 'tsoverlay/10.9.9.0/24' }))).rejects.toThrow(/unknown pool/);
    expect(() => again.releasePool('other')).toThrow(/unknown pool/);
  });

  it('says when the upper half is used up, and takes released addresses again then', async () => {
    const ipam = new DockerIpam(SUBNET, PluginState.load(dir));
    const got = [];
    for (let i = 0; i < 127; i++) got.push(((await ask(ipam, {})) as { Address: string }).Address);
    expect(new Set(got).size).toBe(127);
    await expect(ask(ipam, {})).rejects.toThrow(/no free address left in 10.32.4.128-10.32.4.254/);
    await ipam.releaseAddress(POOL, '10.32.4.200/24');
    expect(await ask(ipam, {})).toMatchObject({ Address: '10.32.4.200/24' });
  });

  it('joins endpoints to the bridge with the overlay MTU and names the interface for Docker', async () => {
    const links = new FakeLinks();
    const state = PluginState.load(dir);
    const driver = new NetworkDriver({ subnet: SUBNET, subnet6: null, bridge: 'tsobr0', mtu: 1376 }, state, links);
    await expect(driver.createNetwork({ networkId: 'n1', ipv4: [{ pool: '10.32.9.0/24', gateway: '' }], ipv6: [] })).rejects.toThrow(/--subnet 10.32.4.0\/24/);
    await expect(driver.createNetwork({ networkId: 'n1', ipv4: [{ pool: '10.32.4.0/24', gateway: '10.32.4.9/24' }], ipv6: [] })).rejects.toThrow(/gateway/);
    await driver.createNetwork({ networkId: 'n1', ipv4: [{ pool: '10.32.4.0/24', gateway: '10.32.4.1/24' }], ipv6: [] });
    await expect(driver.createEndpoint({ networkId: 'n1', endpointId: EP, address: '', address6: '', mac: '' })).rejects.toThrow(/no address/);
    await expect(driver.createEndpoint({ networkId: 'n1', endpointId: 'x/../y', address: '10.32.4.130/24', address6: '', mac: '' })).rejects.toThrow(/endpoint id/);
    expect(await driver.createEndpoint({ networkId: 'n1', endpointId: EP, address: '10.32.4.130/24', address6: '', mac: '02:42:0a:20:04:82' })).toEqual({});
    expect(await driver.join({ networkId: 'n1', endpointId: EP })).toEqual({ InterfaceName: { SrcName: 'tsoca1b2c3d4e', DstPrefix: 'eth' }, Gateway: '10.32.4.1' });
    expect(links.pairs.get('tsova1b2c3d4e')).toEqual({ containerEnd: 'tsoca1b2c3d4e', bridge: 'tsobr0', mtu: 1376 });
    await expect(driver.join({ networkId: 'n2', endpointId: EP })).rejects.toThrow(/unknown endpoint/);
    // Kept across a restart: Leave and DeleteEndpoint still find it.
    const after = new NetworkDriver({ subnet: SUBNET, subnet6: null, bridge: 'tsobr0', mtu: 1376 }, PluginState.load(dir), links);
    await after.leave({ networkId: 'n1', endpointId: EP });
    expect(links.pairs.size).toBe(0);
    await after.deleteEndpoint({ networkId: 'n1', endpointId: EP });
    await after.deleteEndpoint({ networkId: 'n1', endpointId: EP });
    await after.deleteNetwork('n1');
    expect([after.networks, after.endpoints]).toEqual([0, 0]);
  });

  it('hands out IPv6 addresses from the upper half of the host\'s IPv6 subnet, on a dual-stack network', async () => {
    const subnet6 = parseCidr6('fd00:10:32:4::/64');
    const state = PluginState.load(dir);
    const ipam = new DockerIpam(SUBNET, state, subnet6);
    await expect(Promise.resolve().then(() => new DockerIpam(SUBNET, state).requestPool({ addressSpace: 'tsoverlay', pool: 'fd00:10:32:4::/64', subPool: '', v6: true }))).rejects.toThrow(/no IPv6 subnet/);
    expect(() => ipam.requestPool({ addressSpace: 'tsoverlay', pool: '', subPool: '', v6: true })).toThrow(/--subnet fd00:10:32:4::\/64/);
    expect(() => ipam.requestPool({ addressSpace: 'tsoverlay', pool: 'fd00:10:32:5::/64', subPool: '', v6: true })).toThrow(/only, not fd00:10:32:5::\/64/);
    const pool = ipam.requestPool({ addressSpace: 'tsoverlay', pool: 'fd00:10:32:4::/64', subPool: '', v6: true }) as { PoolID: string; Data: Record<string, string> };
    expect(pool.Data['com.docker.network.gateway']).toBe('fd00:10:32:4::1/64');
    const ask6 = (o: Partial<{ address: string; gateway: boolean; mac: string }>) => ipam.requestAddress({ poolId: pool.PoolID, address: '', gateway: false, mac: '', ...o }) as Promise<{ Address: string }>;
    expect((await ask6({ gateway: true })).Address).toBe('fd00:10:32:4::1/64');
    const first = (await ask6({ mac: '02:42:00:00:00:01' })).Address;
    expect(first).toBe('fd00:10:32:4:8000::/64');
    expect((await ask6({ mac: '02:42:00:00:00:01' })).Address).toBe(first); // a replay
    expect((await ask6({})).Address).toBe('fd00:10:32:4:8000::1/64');
    await expect(ask6({ address: 'fd00:10:32:4::5' })).rejects.toThrow(/outside the IPv6 addresses/);
    await expect(ask6({ address: 'fd00:10:32:4:8000::1' })).rejects.toThrow(/already in use/);
    // IPv4 from the same state alongside, unaffected.
    expect(((await ipam.requestAddress({ poolId: POOL, address: '', gateway: false, mac: '' })) as { Address: string }).Address).toMatch(/^10\.32\.4\.\d+\/24$/);
    await ipam.releaseAddress(pool.PoolID, 'fd00:10:32:4:8000::1/64');
    expect(Object.keys(PluginState.load(dir).data.addresses)).not.toContain('fd00:10:32:4:8000::1');
    const driver = new NetworkDriver({ subnet: SUBNET, subnet6, bridge: 'tsobr0', mtu: 1376 }, state, new FakeLinks());
    await driver.createNetwork({ networkId: 'n6', ipv4: [{ pool: '10.32.4.0/24', gateway: '10.32.4.1/24' }], ipv6: [{ pool: 'fd00:10:32:4::/64', gateway: 'fd00:10:32:4::1/64' }] });
    await driver.createEndpoint({ networkId: 'n6', endpointId: EP, address: '10.32.4.130/24', address6: 'fd00:10:32:4:8000::/64', mac: '' });
    expect(await driver.join({ networkId: 'n6', endpointId: EP })).toMatchObject({ Gateway: '10.32.4.1', GatewayIPv6: 'fd00:10:32:4::1' });
    await expect(new NetworkDriver({ subnet: SUBNET, subnet6: null, bridge: 'tsobr0', mtu: 1376 }, state, new FakeLinks()).createNetwork({ networkId: 'n7', ipv4: [{ pool: '10.32.4.0/24', gateway: '' }], ipv6: [{ pool: 'fd00:10:32:4::/64', gateway: '' }] })).rejects.toThrow(/no IPv6 subnet/);
  });

  it('refuses a state file that does not parse, naming it, rather than start afresh', () => {
    writeFileSync(join(dir, 'docker-plugin.json'), '{"version":1,"addresses":{"nope":""}');
    expect(() => PluginState.load(dir)).toThrow(/docker-plugin.json: not JSON/);
    writeFileSync(join(dir, 'docker-plugin.json'), JSON.stringify({ version: 2 }));
    expect(() => PluginState.load(dir)).toThrow(/version 2/);
    writeFileSync(join(dir, 'docker-plugin.json'), JSON.stringify({ version: 1, addresses: { nope: '' }, cursor: 0, networks: {}, endpoints: {} }));
    expect(() => PluginState.load(dir)).toThrow(/bad addresses/);
  });

  it('takes --docker-plugin, --docker-plugin-dir and --docker-api', () => {
    const parse = (...argv: string[]) => parseLaunchConfig(parseArgs(argv, launchCommand));
    expect(parse()).toMatchObject({ dockerPlugin: null, dockerApi: null, bridge: null });
    expect(parse('--docker-plugin')).toMatchObject({ dockerPlugin: '/run/docker/plugins', dockerApi: { kind: 'unix', socketPath: '/var/run/docker.sock' }, bridge: 'tsobr0' });
    expect(parse('--docker-plugin-dir', '/tmp/p', '--bridge', 'docker1')).toMatchObject({ dockerPlugin: '/tmp/p', bridge: 'docker1' });
    expect(parse('--docker-api', 'tcp://127.0.0.1:2375')).toMatchObject({ dockerPlugin: null, dockerApi: { kind: 'tcp', host: '127.0.0.1', port: 2375 } });
    expect(() => parse('--docker-api', 'docker.sock')).toThrow(/--docker-api: "docker.sock": want unix:\/\/\/PATH or tcp:\/\/HOST:PORT/);
    expect(parseDockerApiAddress('unix:///run/d.sock')).toEqual({ kind: 'unix', socketPath: '/run/d.sock' });
  });
});
