// etcd mode: flannel's config and lease schema, live routes from the watch,
// subnet.env/docker.env, and getting the same subnet back after a restart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEtcdSide, type EtcdSide, startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabEtcd } from '../../src/lab/labEtcd.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { ping, transfer } from '../helpers/traffic.js';
import { eventually } from '../helpers/eventually.js';

const PREFIX = '/coreos.com/network';

describe('etcd mode (flannel-compatible leases)', () => {
  let lab: Lab;
  let etcd: LabEtcd;
  let a: EtcdSide;
  let b: EtcdSide;

  beforeAll(async () => {
    lab = await Lab.create();
    // The hosts lease from 10.50.1.0 to 10.50.24.0: the leases the tests write by hand (10.50.25x) are never theirs.
    etcd = await startLabEtcd(lab, { Network: '10.50.0.0/16', SubnetMax: '10.50.24.0', Backend: { Type: 'vxlan', VNI: 7 } });
    a = await addEtcdSide(lab, await lab.addHost('a'), etcd, ['--etcd-lease-ttl', '120']);
    b = await addEtcdSide(lab, await lab.addHost('b'), etcd);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  const routesOf = async (side: EtcdSide) => (await side.daemon.status()).routes;

  it('leases distinct subnets of the configured size, first subnet skipped, backend from the config', async () => {
    const [sa, sb] = [await a.daemon.status(), await b.daemon.status()];
    expect(sa.mode).toBe('etcd');
    expect(sa.backend).toBe('vxlan');
    expect(sa.vni).toBe(7);
    expect(sa.subnet).toMatch(/^10\.50\.\d+\.0\/24$/);
    expect(sa.subnet).not.toBe('10.50.0.0/24');
    expect(sb.subnet).not.toBe(sa.subnet);
  });

  it('writes leases exactly as flannel does, bound to an etcd lease with the TTL asked for', async () => {
    const key = `${PREFIX}/subnets/${a.subnet.replace('/', '-')}`;
    const value = JSON.parse(await etcd.ctl('get', '--print-value-only', key));
    const status = await a.daemon.status();
    expect(value).toEqual({ PublicIP: a.host.ip, BackendType: 'vxlan', BackendData: { VNI: 7, VtepMAC: status.vtepMac } });
    const leaseId = BigInt(status.etcd!.leaseId!).toString(16);
    expect(await etcd.ctl('lease', 'timetolive', leaseId)).toMatch(/granted with TTL\(120s\)/);
  });

  it('routes between the hosts: ping and 20 MB both ways', async () => {
    expect(await ping(lab, a.container, b.container.ip)).toMatch(/3 received/);
    for (const [from, to] of [[a, b], [b, a]]) {
      const r = await transfer(lab, from.container, to.container, 20 << 20);
      expect(r.received).toEqual(r.sent);
    }
  });

  it('honours a lease written by hand with etcdctl, follows its change, and drops it when deleted', async () => {
    const key = `${PREFIX}/subnets/10.50.250.0-24`;
    await etcd.ctl('put', key, JSON.stringify({ PublicIP: '10.201.0.99', BackendType: 'vxlan', BackendData: { VNI: 7, VtepMAC: '02:aa:bb:cc:dd:ee' } }));
    await eventually(async () => expect(await routesOf(a)).toContainEqual({ subnet: '10.50.250.0/24', publicIp: '10.201.0.99', port: 8472, vtepMac: '02:aa:bb:cc:dd:ee' }));
    await etcd.ctl('put', key, JSON.stringify({ PublicIP: '10.201.0.98', BackendType: 'vxlan', BackendData: { VNI: 7, VtepMAC: '02:aa:bb:cc:dd:ef' } }));
    await eventually(async () => expect(await routesOf(b)).toContainEqual({ subnet: '10.50.250.0/24', publicIp: '10.201.0.98', port: 8472, vtepMac: '02:aa:bb:cc:dd:ef' }));
    await etcd.ctl('del', key);
    await eventually(async () => expect((await routesOf(a)).map((r) => r.subnet)).not.toContain('10.50.250.0/24'));
  });

  it('drops the route when a lease expires', async () => {
    const grant = await etcd.ctl('lease', 'grant', '5');
    const leaseId = /lease ([0-9a-f]+) granted/.exec(grant)![1];
    await etcd.ctl('put', '--lease', leaseId, `${PREFIX}/subnets/10.50.251.0-24`, JSON.stringify({ PublicIP: '10.201.0.97', BackendType: 'vxlan', BackendData: { VtepMAC: '02:aa:bb:cc:dd:01' } }));
    await eventually(async () => expect((await routesOf(a)).map((r) => r.subnet)).toContain('10.50.251.0/24'));
    await eventually(async () => expect((await routesOf(a)).map((r) => r.subnet)).not.toContain('10.50.251.0/24'), 15_000);
  });

  it('ignores a malformed lease, logging it once, and keeps following the rest', async () => {
    await etcd.ctl('put', `${PREFIX}/subnets/10.50.252.0-24`, '{"PublicIP": "not-an-ip"');
    await etcd.ctl('put', `${PREFIX}/subnets/10.50.253.0-24`, JSON.stringify({ PublicIP: '10.201.0.96', BackendType: 'vxlan' }));
    await etcd.ctl('put', `${PREFIX}/subnets/10.50.254.0-24`, JSON.stringify({ PublicIP: '10.201.0.95', BackendType: 'vxlan', BackendData: { VtepMAC: '02:aa:bb:cc:dd:02' } }));
    await eventually(async () => expect((await routesOf(a)).map((r) => r.subnet)).toContain('10.50.254.0/24'));
    const subnets = (await routesOf(a)).map((r) => r.subnet);
    expect(subnets).not.toContain('10.50.252.0/24');
    expect(subnets).not.toContain('10.50.253.0/24');
    // The daemon logs JSON lines (pino) when not at a terminal.
    expect(a.daemon.log.match(/"key":"\/coreos.com\/network\/subnets\/10.50.252.0-24".*"msg":"ignoring a malformed lease"/g)).toHaveLength(1);
    expect(a.daemon.log).toMatch(/"key":"[^"]*10\.50\.253\.0-24","error":"a vxlan lease without \\"BackendData.VtepMAC\\"","msg":"ignoring a malformed lease"/);
    await etcd.ctl('del', '--prefix', `${PREFIX}/subnets/10.50.25`);
  });

  it('writes subnet.env and docker.env with flannel\'s names, and docker-opts prints the options', async () => {
    const status = await a.daemon.status();
    const bip = status.subnet.replace(/0\/24$/, '1/24');
    expect(readFileSync(join(a.daemon.runDir, 'subnet.env'), 'utf8')).toBe(
      `FLANNEL_NETWORK=10.50.0.0/16\nFLANNEL_SUBNET=${bip}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`,
    );
    expect(readFileSync(join(a.daemon.runDir, 'docker.env'), 'utf8')).toBe(`DOCKER_OPTS="--bip=${bip} --mtu=1450 --ip-masq=true"\n`);
    const printed = await lab.exec(a.host.ns, process.execPath, [TSOVERLAY_BIN, 'docker-opts', '--run-dir', a.daemon.runDir]);
    expect(printed.trim()).toBe(`--bip=${bip} --mtu=1450 --ip-masq=true`);
  });

  it('keeps DNS records under <prefix>/dns/, bound to the host\'s lease, and serves them on every host', async () => {
    const cli = (...args: string[]) => lab.exec(a.host.ns, process.execPath, [TSOVERLAY_BIN, ...args, '--api', a.daemon.apiSocket]);
    const dig = (name: string) => lab.exec(b.container.ns, 'dig', ['+short', '+tries=1', `@${b.subnet.replace(/0\/24$/, '1')}`, name]);
    await cli('dns-add', a.container.ip, 'api');
    const key = `${PREFIX}/dns/api.weave.local/${a.container.ip}`;
    await eventually(async () => expect((await dig('api.weave.local')).trim()).toBe(a.container.ip));
    expect(JSON.parse(await etcd.ctl('get', '--print-value-only', key))).toEqual({ Name: 'api.weave.local', IP: a.container.ip, PublicIP: a.host.ip });
    const leaseHex = BigInt((await a.daemon.status()).etcd!.leaseId!).toString(16);
    expect(await etcd.ctl('get', '-w', 'json', key)).toMatch(new RegExp(`"lease":${BigInt('0x' + leaseHex).toString()}`));
    await cli('dns-remove', a.container.ip);
    await eventually(async () => expect((await dig('api.weave.local')).trim()).toBe(''));
    expect(await etcd.ctl('get', '--keys-only', key)).toBe('');
  });

  it('gets the same subnet back after a restart, from its lease, which is renewed rather than granted anew', async () => {
    const before = a.subnet;
    const lease = (await a.daemon.status()).etcd!.leaseId;
    await a.daemon.stop();
    expect(await etcd.ctl('get', '--keys-only', `${PREFIX}/subnets/${before.replace('/', '-')}`)).toContain(before.replace('/', '-')); // kept at stop
    await a.daemon.start();
    expect((await a.daemon.status()).subnet).toBe(before);
    expect((await a.daemon.status()).etcd!.leaseId).toBe(lease);
  });

  it('gets the same subnet back from its old subnet.env when its lease is gone', async () => {
    const before = a.subnet;
    await a.daemon.stop();
    await etcd.ctl('del', `${PREFIX}/subnets/${before.replace('/', '-')}`);
    await a.daemon.start();
    expect((await a.daemon.status()).subnet).toBe(before);
    try {
      // b learns a's new lease from its watch; 20 s leaves room for a watch in backoff on a busy machine.
      await eventually(async () => expect(await ping(lab, b.container, a.container.ip)).toMatch(/3 received/), 20_000);
    } catch (error) {
      // Seen once in a CI-like run and not reproduced since: say what each side knew.
      const [sa, sb] = [await a.daemon.status(), await b.daemon.status()];
      const view = (s: typeof sa) => JSON.stringify({ subnet: s.subnet, etcd: s.etcd, routes: s.routes, rx: s.counters.rx, tx: s.counters.tx, drops: Object.entries(s.counters.drops).filter(([, n]) => n > 0) });
      throw new Error(`${(error as Error).message}\na: ${view(sa)}\nb: ${view(sb)}\na log:\n${a.daemon.log.slice(-3000)}\nb log:\n${b.daemon.log.slice(-3000)}`);
    }
  });
});
