// tsoverlay beside a real flanneld (v0.14.1, ../shared/anchors), with
// flannel's vxlan and udp backends. That flanneld speaks etcd's v2 API only,
// whose keyspace tsoverlay's etcd mode (v3, as flannel's later releases) does
// not see: tsoverlay runs with static routes taken from flanneld's lease, and
// its own lease, written with tsoverlay's lease encoder, is put in the v2
// keyspace for flanneld to follow (docs/etcd.md: mixed clusters).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabContainer, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { LabEtcd } from '../../src/lab/labEtcd.js';
import { FLANNELD, LabFlannel } from '../../src/lab/labFlannel.js';
import { seedVtepMac } from '../../src/lab/kernelVxlan.js';
import { cidrHost, formatIPv4, parseCidr, parseIPv4 } from '../../src/net/ipv4.js';
import { formatMac, parseMac, randomMac } from '../../src/net/mac.js';
import { decodeLease, encodeLease } from '../../src/subnet/leaseRecord.js';
import { ping, transfer } from '../helpers/traffic.js';

const NETWORK = '10.60.0.0/16';
const OURS = '10.60.200.0/24';
const PREFIX = '/coreos.com/network';
const MB = 1 << 20;

describe.skipIf(!existsSync(FLANNELD)).each(['vxlan', 'udp'])('tsoverlay and a real flanneld, flannel\'s %s backend', (backend) => {
  let lab: Lab;
  let etcd: LabEtcd;
  let flannel: LabFlannel;
  let flannelEnv: Record<string, string>;
  let flannelLease: string;
  let daemon: LabDaemon;
  let hosts: { f: LabHost; t: LabHost };
  let boxes: { f: LabContainer; t: LabContainer };

  beforeAll(async () => {
    lab = await Lab.create();
    const [etcdHost, f, t] = [await lab.addHost('etcd'), await lab.addHost('f'), await lab.addHost('t')];
    hosts = { f, t };
    etcd = new LabEtcd(lab, etcdHost, null, true);
    await etcd.start();
    await etcd.ctl2('set', `${PREFIX}/config`, JSON.stringify({ Network: NETWORK, SubnetLen: 24, Backend: { Type: backend } }));
    // Our lease first, so flanneld leases around it and follows it from the start.
    const ourMac = formatMac(randomMac());
    const ours = encodeLease({ publicIp: parseIPv4(t.ip), publicIpv6: null, dualStack: false, backendType: backend, vtepMac: backend === 'vxlan' ? parseMac(ourMac) : null, vni: backend === 'vxlan' ? 1 : null });
    await etcd.ctl2('set', `${PREFIX}/subnets/${OURS.replace('/', '-')}`, ours, '--ttl', '3600');

    await lab.exec(f.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    flannel = new LabFlannel(lab, f, etcd);
    flannelEnv = await flannel.start();
    const flannelSubnet = parseCidr(flannelEnv.FLANNEL_SUBNET.replace(/\.1\//, '.0/'));
    flannelLease = await etcd.ctl2('get', `${PREFIX}/subnets/${formatIPv4(flannelSubnet.addr)}-${flannelSubnet.len}`);
    const lease = decodeLease({ subnet: flannelSubnet, subnet6: null }, flannelLease);
    const mtu = Number(flannelEnv.FLANNEL_MTU);
    await lab.addBridge(f, 'tsobr', flannelEnv.FLANNEL_SUBNET, mtu);
    const fBox = await lab.addContainer(f, 'c1', `${formatIPv4(cidrHost(flannelSubnet, 2))}/24`, formatIPv4(cidrHost(flannelSubnet, 1)), 'tsobr', mtu);

    const runDir = join(lab.dir, t.name);
    mkdirSync(runDir, { recursive: true });
    seedVtepMac(runDir, ourMac);
    const via = lease.vtepMac ? `${f.ip}@${formatMac(lease.vtepMac)}` : f.ip;
    daemon = await lab.startDaemon(t, ['--backend', backend, '--network', NETWORK, '--subnet', OURS, '--public-ip', t.ip, '--bridge', 'tsobr', '--route', `${formatIPv4(flannelSubnet.addr)}/24=${via}`]);
    const status = await daemon.status();
    const tBox = await lab.addContainer(t, 'c1', '10.60.200.2/24', '10.60.200.1', 'tsobr', status.mtu);
    boxes = { f: fBox, t: tBox };
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('reads flanneld\'s lease as flanneld wrote it', () => {
    const subnet = parseCidr(flannelEnv.FLANNEL_SUBNET.replace(/\.1\//, '.0/'));
    const lease = decodeLease({ subnet, subnet6: null }, flannelLease);
    expect(formatIPv4(lease.publicIp)).toBe(hosts.f.ip);
    expect(lease.backendType).toBe(backend);
    expect(lease.vtepMac !== null).toBe(backend === 'vxlan');
  });

  it('agrees with flanneld\'s subnet.env on the network and the MTU', () => {
    const ours = Object.fromEntries(readFileSync(join(daemon.runDir, 'subnet.env'), 'utf8').trim().split('\n').map((l) => l.split('=')));
    expect(ours.FLANNEL_NETWORK).toBe(flannelEnv.FLANNEL_NETWORK);
    expect(ours.FLANNEL_MTU).toBe(flannelEnv.FLANNEL_MTU);
  });

  it('pings between the containers both ways', async () => {
    expect(await ping(lab, boxes.t, boxes.f.ip)).toMatch(/3 received/);
    expect(await ping(lab, boxes.f, boxes.t.ip)).toMatch(/3 received/);
  });

  it('moves 10 MB over TCP both ways with matching checksums', async () => {
    for (const [from, to] of [[boxes.t, boxes.f], [boxes.f, boxes.t]]) {
      const result = await transfer(lab, from, to, 10 * MB);
      expect(result.received).toEqual(result.sent);
    }
    const { counters } = await daemon.status();
    expect(counters.rx.bytes).toBeGreaterThan(10 * MB);
    expect(counters.drops.bad_header + counters.drops.wrong_mac + counters.drops.wrong_vni + counters.drops.oversize + counters.drops.tun_write).toBe(0);
  });
});
