// Many hosts joining one etcd network at once, the start-up errors of etcd mode, TLS and authentication.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPost } from '../../src/api/client.js';
import { startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { LabEtcd, makeEtcdTls } from '../../src/lab/labEtcd.js';
import { eventually } from '../helpers/eventually.js';
import { launchOutcome } from '../helpers/failedLaunch.js';

const PREFIX = '/coreos.com/network';

describe('20 hosts joining at once', () => {
  let lab: Lab;
  let etcd: LabEtcd;

  beforeAll(async () => {
    lab = await Lab.create();
    // 24 subnets for 20 hosts: random picks collide often, so the create-if-absent transaction is what keeps them apart.
    etcd = await startLabEtcd(lab, { Network: '10.60.0.0/16', SubnetMin: '10.60.1.0', SubnetMax: '10.60.24.0', Backend: { Type: 'udp' } });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('gives every host its own subnet', async () => {
    const hosts: LabHost[] = [];
    for (let i = 0; i < 20; i++) hosts.push(await lab.addHost(`h${i}`));
    const daemons = await Promise.all(hosts.map((h) => lab.startDaemon(h, ['--public-ip', h.ip, '--etcd-endpoints', etcd.endpoint], 60_000)));
    const subnets = await Promise.all(daemons.map(async (d) => (await d.status()).subnet));
    expect(new Set(subnets).size).toBe(20);
    const keys = (await etcd.ctl('get', '--keys-only', '--prefix', `${PREFIX}/subnets/`)).split('\n').filter(Boolean);
    expect(keys).toHaveLength(20);
    expect(keys.map((k) => k.slice(`${PREFIX}/subnets/`.length).replace('-', '/')).sort()).toEqual([...subnets].sort());
    for (const d of daemons) await d.stop();
  }, 180_000);
});

describe('etcd mode refuses what it cannot run, in one line', () => {
  let lab: Lab;
  let etcd: LabEtcd;
  let host: LabHost;

  beforeAll(async () => {
    lab = await Lab.create();
    etcd = await startLabEtcd(lab, null);
    host = await lab.addHost('a');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  const launch = (args: string[]) =>
    launchOutcome(lab, host, ['--run-dir', `${lab.dir}/a`, '--api', `${lab.dir}/a.sock`, '--public-ip', host.ip, ...args]);

  const oneLine = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('tsoverlay:'));

  it('no config and --etcd-no-wait', async () => {
    const r = await launch(['--etcd-endpoints', etcd.endpoint, '--etcd-no-wait']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual([`tsoverlay: no network config at ${PREFIX}/config in etcd`]);
  });

  it('no config: waits, saying so, and starts once the config appears', async () => {
    const daemon = await (async () => {
      const pending = lab.startDaemon(host, ['--public-ip', host.ip, '--etcd-endpoints', etcd.endpoint], 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      await etcd.ctl('put', `${PREFIX}/config`, JSON.stringify({ Network: '10.70.0.0/16' }));
      return pending;
    })();
    expect(daemon.log).toMatch(/no network config in etcd yet; waiting for it/);
    expect((await daemon.status()).subnet).toMatch(/^10\.70\./);
    await daemon.stop();
  });

  it.each([
    ['not JSON', '{"Network": ', /bad network config at \/coreos.com\/network\/config: network config is not JSON/],
    ['a bad network', '{"Network": "10.70.0.0/33"}', /"Network": bad prefix length/],
    ['SubnetLen not below the network', '{"Network": "10.70.0.0/16", "SubnetLen": 16}', /SubnetLen 16 is not longer than the Network's \/16/],
    ['SubnetMin outside', '{"Network": "10.70.0.0/16", "SubnetMin": "10.71.0.0"}', /SubnetMin 10.71.0.0 is not in the range of the Network/],
    ['an unknown backend', '{"Network": "10.70.0.0/16", "Backend": {"Type": "host-gw"}}', /Backend.Type "host-gw" in the etcd network config is not one tsoverlay runs/],
  ])('an invalid config: %s', async (_name, config, message) => {
    await etcd.ctl('put', `${PREFIX}/config`, config);
    const r = await launch(['--etcd-endpoints', etcd.endpoint]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a network with no subnet left', async () => {
    await etcd.ctl('put', `${PREFIX}/config`, JSON.stringify({ Network: '10.80.0.0/16', SubnetMin: '10.80.5.0', SubnetMax: '10.80.5.0' }));
    await etcd.ctl('put', `${PREFIX}/subnets/10.80.5.0-24`, JSON.stringify({ PublicIP: '10.201.0.200', BackendType: 'udp' }));
    const r = await launch(['--etcd-endpoints', etcd.endpoint]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual(['tsoverlay: no free subnet left in 10.80.0.0/16: all 1 /24 subnets are leased']);
  });

  it('etcd unreachable', async () => {
    const r = await launch(['--etcd-endpoints', 'http://127.0.0.1:1']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual(['tsoverlay: etcd at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1']);
  });

  it('flags that etcd decides', async () => {
    const r = await launch(['--etcd-endpoints', etcd.endpoint, '--network', '10.1.0.0/16']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual(['tsoverlay: --network cannot be given with --etcd-endpoints: it comes from the network config and leases in etcd']);
  });
});

describe('etcd over TLS with client certificates', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.create();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('leases a subnet with --etcd-cafile/--etcd-certfile/--etcd-keyfile, and is refused without them', async () => {
    const etcdHost = await lab.addHost('etcd');
    const tls = await makeEtcdTls(`${lab.dir}/tls`, etcdHost.ip);
    const etcd = new LabEtcd(lab, etcdHost, tls);
    await etcd.start();
    await etcd.ctl('put', `${PREFIX}/config`, JSON.stringify({ Network: '10.75.0.0/16' }));
    const host = await lab.addHost('a');
    const daemon = await lab.startDaemon(host, ['--public-ip', host.ip, '--etcd-endpoints', etcd.endpoint, '--etcd-cafile', tls.ca, '--etcd-certfile', tls.clientCert, '--etcd-keyfile', tls.clientKey]);
    const subnet = (await daemon.status()).subnet;
    expect(await etcd.ctl('get', '--print-value-only', `${PREFIX}/subnets/${subnet.replace('/', '-')}`)).toContain(host.ip);
    await daemon.stop();
    const other = await lab.addHost('b');
    const r = await launchOutcome(lab, other, ['--run-dir', `${lab.dir}/b`, '--api', `${lab.dir}/b.sock`, '--public-ip', other.ip, '--etcd-endpoints', etcd.endpoint, '--etcd-cafile', tls.ca]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('tsoverlay:'))).toHaveLength(1);
    expect(r.stderr).toMatch(/tsoverlay: etcd at https:\/\/10\.201\.0\.\d+:2379: /);
  });
});

describe('etcd with authentication', () => {
  let lab: Lab;
  let etcd: LabEtcd;

  beforeAll(async () => {
    lab = await Lab.create();
    // Tokens that expire after a second unused: the daemons must sign in again.
    etcd = new LabEtcd(lab, await lab.addHost('etcd'), null, false, ['--auth-token-ttl', '1']);
    await etcd.start();
    await etcd.ctl('put', `${PREFIX}/config`, JSON.stringify({ Network: '10.76.0.0/16' }));
    await etcd.enableAuth('tso', 'right horse', `${PREFIX}/`);
    writeFileSync(`${lab.dir}/right`, 'right horse\n');
    writeFileSync(`${lab.dir}/wrong`, 'wrong horse\n');
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const launch = (host: LabHost, args: string[]) =>
    launchOutcome(lab, host, ['--run-dir', `${lab.dir}/${host.name}`, '--api', `${lab.dir}/${host.name}.sock`, '--public-ip', host.ip, '--etcd-endpoints', etcd.endpoint, ...args]);
  const oneLine = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('tsoverlay:'));

  it('leases a subnet with the right user and password, follows the others, and signs in again when its token expires', async () => {
    const [a, b] = [await lab.addHost('a'), await lab.addHost('b')];
    const auth = ['--etcd-username', 'tso', '--etcd-password-file', `${lab.dir}/right`];
    const da = await lab.startDaemon(a, ['--public-ip', a.ip, '--etcd-endpoints', etcd.endpoint, ...auth]);
    const db = await lab.startDaemon(b, ['--public-ip', b.ip, '--etcd-endpoints', etcd.endpoint, ...auth]);
    const subnet = (await da.status()).subnet;
    expect(await etcd.ctl('get', '--print-value-only', `${PREFIX}/subnets/${subnet.replace('/', '-')}`)).toContain(a.ip);
    // The watch runs authenticated too: each learns the other's lease.
    await eventually(async () => expect((await da.status()).routes.map((r) => r.subnet)).toContain((await db.status()).subnet), 10_000);
    await eventually(async () => expect((await db.status()).routes.map((r) => r.subnet)).toContain(subnet), 10_000);
    // A record put into etcd after the token expired: signed in again, the other host has it.
    await new Promise((r) => setTimeout(r, 3000));
    await apiPost({ kind: 'unix', path: da.apiSocket }, '/dns/add', { ip: subnet.replace(/0\/\d+$/, '7'), name: 'late' });
    await eventually(async () => expect(await apiPost({ kind: 'unix', path: db.apiSocket }, '/dns/lookup', { name: 'late' })).toMatchObject({ ips: [subnet.replace(/0\/\d+$/, '7')] }), 10_000);
    // Nothing readable without signing in.
    await expect(lab.exec(etcd.host.ns, 'env', ['ETCDCTL_API=3', 'etcdctl', '--endpoints', 'http://127.0.0.1:2379', 'get', `${PREFIX}/config`])).rejects.toThrow(/user name is empty|permission denied/);
  });

  it('wrong credentials, a missing password file, a user without a password: one line each, nothing started', async () => {
    const host = await lab.addHost('c');
    const wrong = await launch(host, ['--etcd-username', 'tso', '--etcd-password-file', `${lab.dir}/wrong`]);
    expect(wrong.code).toBe(2);
    expect(oneLine(wrong.stderr)).toEqual([expect.stringMatching(/^tsoverlay: etcd refused user "tso": .*authentication failed/)]);
    const missing = await launch(host, ['--etcd-username', 'tso', '--etcd-password-file', `${lab.dir}/nonexistent`]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toEqual([`tsoverlay: --etcd-password-file ${lab.dir}/nonexistent: no such file`]);
    const noPassword = await launch(host, ['--etcd-username', 'tso']);
    expect(oneLine(noPassword.stderr)).toEqual([expect.stringMatching(/^tsoverlay: etcd user "tso" has no password/)]);
    const none = await launch(host, ['--etcd-no-wait']);
    expect(none.code).toBe(2);
    expect(oneLine(none.stderr)).toHaveLength(1);
    expect(await lab.exec(host.ns, 'ip', ['-o', 'link'])).not.toContain('tso0');
  });
});
