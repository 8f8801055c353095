// etcd going away: traffic keeps flowing on the known routes, the daemon
// reconnects and catches up, and an expired lease is taken again.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEtcdSide, type EtcdSide, startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabEtcd } from '../../src/lab/labEtcd.js';
import { eventually } from '../helpers/eventually.js';
import { ping } from '../helpers/traffic.js';

const PREFIX = '/coreos.com/network';
const OUTAGE_S = 60;

describe('etcd outage', () => {
  let lab: Lab;
  let etcd: LabEtcd;
  let a: EtcdSide;
  let b: EtcdSide;

  beforeAll(async () => {
    lab = await Lab.create();
    // The hosts lease below 10.55.200.0: the leases the tests write by hand (200 and up) are never theirs.
    etcd = await startLabEtcd(lab, { Network: '10.55.0.0/16', SubnetMax: '10.55.199.0', Backend: { Type: 'udp' } });
    a = await addEtcdSide(lab, await lab.addHost('a'), etcd);
    b = await addEtcdSide(lab, await lab.addHost('b'), etcd, ['--etcd-lease-ttl', '6']);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it(`keeps a transfer going through ${OUTAGE_S} s without etcd, then reconnects, keeps its subnet and applies what changed`, async () => {
    const subnetBefore = (await a.daemon.status()).subnet;
    const server = lab.track(spawn('ip', ['netns', 'exec', b.container.ns, 'iperf3', '-s', '-1'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    const seconds = OUTAGE_S + 10;
    const client = lab.exec(a.container.ns, 'iperf3', ['-c', b.container.ip, '-t', String(seconds), '-b', '50M', '-J'], (seconds + 30) * 1000);

    await new Promise((r) => setTimeout(r, 3000));
    await etcd.kill();
    await eventually(async () => expect((await a.daemon.status()).etcd!.state).toBe('unreachable'), 20_000);
    await new Promise((r) => setTimeout(r, (OUTAGE_S - 3) * 1000));
    await etcd.start();
    // A change made as soon as etcd is back, before the daemon has reconnected.
    await etcd.ctl('put', `${PREFIX}/subnets/10.55.200.0-24`, JSON.stringify({ PublicIP: '10.201.0.77', BackendType: 'udp' }));

    const report = JSON.parse(await client);
    server.kill();
    const intervals: { sum: { bytes: number } }[] = report.intervals;
    expect(intervals.length).toBeGreaterThanOrEqual(seconds - 1);
    expect(intervals.filter((i) => i.sum.bytes === 0)).toHaveLength(0); // no second without traffic
    expect(report.end.sum_received.bytes).toBeGreaterThan(0.8 * (50e6 / 8) * seconds);

    await eventually(async () => {
      const status = await a.daemon.status();
      expect(status.etcd!.state).toBe('connected');
      expect(status.subnet).toBe(subnetBefore);
      expect(status.routes.map((r) => r.subnet)).toContain('10.55.200.0/24');
    }, 20_000);
    expect(a.daemon.log).toMatch(/etcd unreachable; forwarding on the known routes/);
    expect(a.daemon.log).toMatch(/etcd reachable again/);
  }, 150_000);

  it('takes the same subnet again when its lease expired while it could not reach etcd', async () => {
    const subnet = (await b.daemon.status()).subnet;
    const key = `${PREFIX}/subnets/${subnet.replace('/', '-')}`;
    await lab.exec(b.host.ns, 'iptables', ['-A', 'OUTPUT', '-d', etcd.host.ip, '-p', 'tcp', '--dport', '2379', '-j', 'DROP']);
    try {
      // The 6 s lease runs out while b cannot renew it; a sees the route go.
      await eventually(async () => expect(await etcd.ctl('get', '--keys-only', key)).not.toContain(key), 20_000);
      await eventually(async () => expect((await a.daemon.status()).routes.map((r) => r.subnet)).not.toContain(subnet), 10_000);
    } finally {
      await lab.exec(b.host.ns, 'iptables', ['-D', 'OUTPUT', '-d', etcd.host.ip, '-p', 'tcp', '--dport', '2379', '-j', 'DROP']);
    }
    await eventually(async () => expect(await etcd.ctl('get', '--keys-only', key)).toContain(key), 30_000);
    expect((await b.daemon.status()).subnet).toBe(subnet);
    expect(b.daemon.log).toMatch(/lease expired; taking the subnet again/);
    await eventually(async () => expect(await ping(lab, a.container, b.container.ip)).toMatch(/3 received/), 15_000);
  }, 90_000);

  it('rides out etcd killed (SIGKILL) and restarted three times during traffic', async () => {
    const subnets = [(await a.daemon.status()).subnet, (await b.daemon.status()).subnet];
    const pids = [a.daemon.pid, b.daemon.pid];
    const server = lab.track(spawn('ip', ['netns', 'exec', b.container.ns, 'iperf3', '-s', '-1'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    const seconds = 40;
    const client = lab.exec(a.container.ns, 'iperf3', ['-c', b.container.ip, '-t', String(seconds), '-b', '50M', '-J'], (seconds + 30) * 1000);
    for (let round = 1; round <= 3; round++) {
      await new Promise((r) => setTimeout(r, 4000));
      await etcd.kill();
      await new Promise((r) => setTimeout(r, 4000));
      await etcd.start();
      // Something changes while the daemons are still reconnecting.
      await etcd.ctl('put', `${PREFIX}/subnets/10.55.${210 + round}.0-24`, JSON.stringify({ PublicIP: `10.201.0.${80 + round}`, BackendType: 'udp' }));
    }
    const report = JSON.parse(await client);
    server.kill();
    const intervals: { sum: { bytes: number } }[] = report.intervals;
    expect(intervals.length).toBeGreaterThanOrEqual(seconds - 1);
    expect(intervals.filter((i) => i.sum.bytes === 0)).toHaveLength(0);
    await eventually(async () => {
      for (const [i, side] of [a, b].entries()) {
        const status = await side.daemon.status();
        expect(status.etcd!.state).toBe('connected');
        expect(status.subnet).toBe(subnets[i]);
        expect(status.routes.map((r) => r.subnet)).toEqual(expect.arrayContaining(['10.55.211.0/24', '10.55.212.0/24', '10.55.213.0/24']));
      }
    }, 30_000);
    expect([a.daemon.pid, b.daemon.pid]).toEqual(pids); // nobody restarted
    for (const side of [a, b]) expect((await side.daemon.status()).process.fds).toBeLessThan(60);
  }, 150_000);
});
