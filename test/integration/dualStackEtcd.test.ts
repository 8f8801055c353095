// etcd mode with flannel's dual-stack config (EnableIPv6, IPv6Network): each
// host leases an IPv4 and an IPv6 subnet in one key ("10.x.y.0-24&fc00:…-64"),
// writes FLANNEL_IPV6_* to subnet.env, routes the others' IPv6 subnets, and
// keeps both subnets across a restart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEtcdSide, type EtcdSide, startLabEtcd } from '../../src/lab/etcdHosts.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabEtcd } from '../../src/lab/labEtcd.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const PREFIX = '/coreos.com/network';

describe.each(['vxlan', 'udp'])('etcd mode, dual stack, %s', (backend) => {
  let lab: Lab;
  let etcd: LabEtcd;
  let sides: EtcdSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    etcd = await startLabEtcd(lab, { Network: '10.61.0.0/16', EnableIPv6: true, IPv6Network: 'fc00:61::/48', Backend: { Type: backend } });
    sides = [];
    for (const name of ['a', 'b']) sides.push(await addEtcdSide(lab, await lab.addHost(name), etcd));
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('leases a subnet of each family in one key per host, as flannel names it', async () => {
    const keys = (await etcd.ctl('get', '--keys-only', '--prefix', `${PREFIX}/subnets/`)).split('\n').filter(Boolean).sort();
    const wanted = await Promise.all(sides.map(async (s) => {
      const st = await s.daemon.status();
      return `${PREFIX}/subnets/${st.subnet.replace('/', '-')}&${st.ipv6!.subnet.replace('/', '-')}`;
    }));
    expect(keys).toEqual([...wanted].sort());
    const lease = JSON.parse(await etcd.ctl('get', '--print-value-only', keys[0]));
    if (backend === 'vxlan') expect(lease.BackendV6Data.VtepMAC).toBe(lease.BackendData.VtepMAC);
    const env = readFileSync(join(sides[0].daemon.runDir, 'subnet.env'), 'utf8');
    const st = await sides[0].daemon.status();
    expect(env).toContain(`FLANNEL_IPV6_NETWORK=fc00:61::/48\nFLANNEL_IPV6_SUBNET=${st.ipv6!.bridgeAddress}\n`);
  });

  it('carries IPv6 between the hosts\' containers', async () => {
    const [a, b] = sides;
    await eventually(async () => expect(await ping(lab, a.container, b.container6!)).toMatch(/3 received/), 15_000);
    const r = await transfer(lab, b.container, a.container, 2 << 20, 5600, 0, a.container6!);
    expect(r.received).toEqual(r.sent);
  });

  it('keeps both subnets across a restart', async () => {
    const b = sides[1];
    const before = await b.daemon.status();
    await b.daemon.stop();
    await b.daemon.start(30_000);
    const after = await b.daemon.status();
    expect([after.subnet, after.ipv6!.subnet]).toEqual([before.subnet, before.ipv6!.subnet]);
    const keys = (await etcd.ctl('get', '--keys-only', '--prefix', `${PREFIX}/subnets/`)).split('\n').filter(Boolean);
    expect(keys).toHaveLength(2);
    await eventually(async () => expect(await ping(lab, sides[0].container, b.container6!)).toMatch(/3 received/), 15_000);
  });
});
