// weave.local DNS across mesh hosts, and forwarding everything else upstream.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { blockLink, type MeshSide, startMesh } from '../../src/lab/meshHosts.js';
import { MAX_IN_FLIGHT } from '../../src/dns/upstream.js';
import { eventually } from '../helpers/eventually.js';

const STUB = fileURLToPath(new URL('../helpers/dnsStub.mjs', import.meta.url));
const PROBE = fileURLToPath(new URL('../helpers/dnsProbe.mjs', import.meta.url));
const FUZZ = fileURLToPath(new URL('../helpers/udpFuzz.mjs', import.meta.url));

describe('weave.local across a line A-B-C (only neighbours reach each other)', () => {
  let lab: Lab;
  let sides: MeshSide[];
  let upstream: LabHost;
  let resolvConf: string;
  const gateway = (s: MeshSide) => s.subnet.replace(/0\/24$/, '1');

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [];
    for (const n of ['a', 'b', 'c']) hosts.push(await lab.addHost(n));
    upstream = await lab.addHost('up');
    await blockLink(lab, hosts[0], hosts[2]);
    await blockLink(lab, hosts[2], hosts[0]);
    const stub = lab.track(spawn('ip', ['netns', 'exec', upstream.ns, process.execPath, STUB, upstream.ip], { stdio: ['ignore', 'pipe', 'inherit'] }));
    await new Promise((resolve) => stub.stdout!.once('data', resolve));
    resolvConf = join(lab.dir, 'resolv-upstream.conf');
    writeFileSync(resolvConf, `nameserver ${upstream.ip}\n`);
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []), ['--resolv-conf', resolvConf]);
    for (const side of sides) lab.setResolver(side.container.ns, gateway(side), 'weave.local');
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const cli = (side: MeshSide, ...args: string[]) => lab.exec(side.host.ns, process.execPath, [TSOVERLAY_BIN, ...args, '--api', side.daemon.apiSocket]);
  const dig = (side: MeshSide, ...args: string[]) => lab.exec(side.container.ns, 'dig', [`@${gateway(side)}`, '+tries=1', '+time=3', ...args]);

  it('resolves a name added on A from a container on C, by dig and by ping', async () => {
    const [a, , c] = sides;
    await cli(a, 'dns-add', a.container.ip, 'web');
    await eventually(async () => expect((await dig(c, '+short', 'web.weave.local')).trim()).toBe(a.container.ip), 10_000);
    expect((await dig(c, '+short', 'WEB.weave.local.')).trim()).toBe(a.container.ip);
    expect((await dig(c, '+short', 'web')).trim()).toBe(a.container.ip); // single label: within the domain
    expect(await lab.exec(c.container.ns, 'ping', ['-c', '1', '-W', '3', 'web'])).toMatch(new RegExp(`PING web.weave.local \\(${a.container.ip.replace(/\./g, '\\.')}\\)`));
    expect((await cli(c, 'dns-lookup', 'web')).trim()).toBe(a.container.ip);
  });

  it('answers PTR, NXDOMAIN for unknown names, and NOERROR without answers for other types of a known name', async () => {
    const [a, b] = sides;
    expect((await dig(b, '+short', '-x', a.container.ip)).trim()).toBe('web.weave.local.');
    expect(await dig(b, 'nothing.weave.local')).toMatch(/status: NXDOMAIN/);
    const aaaa = await dig(b, 'web.weave.local', 'AAAA');
    expect(aaaa).toMatch(/status: NOERROR/);
    expect(aaaa).toMatch(/ANSWER: 0/);
    expect(await dig(b, 'web.weave.local')).toMatch(/flags: qr aa rd ra/);
  });

  it('resolves an IPv6 record added on A from C (AAAA, ip6.arpa PTR), gossiped beside the IPv4 ones', async () => {
    const [a, , c] = sides;
    await cli(a, 'dns-add', 'FD00:10:32:0:0:0:0:5', 'web6');
    await cli(a, 'dns-add', '10.99.0.5', 'web6');
    await eventually(async () => expect((await dig(c, '+short', 'web6.weave.local', 'AAAA')).trim()).toBe('fd00:10:32::5'), 10_000);
    expect((await dig(c, '+short', 'web6.weave.local', 'A')).trim()).toBe('10.99.0.5');
    expect((await dig(c, '+short', '-x', 'fd00:10:32::5')).trim()).toBe('web6.weave.local.');
    expect((await dig(c, '+short', 'web6.weave.local', 'ANY')).trim().split('\n').sort()).toEqual(['10.99.0.5', 'fd00:10:32::5']);
    expect((await cli(c, 'dns-lookup', 'web6')).trim().split('\n').sort()).toEqual(['10.99.0.5', 'fd00:10:32::5']);
  });

  it('answers several addresses for one name in random order, with the TTL set', async () => {
    const [a, b, c] = sides;
    await cli(a, 'dns-add', '10.99.0.1', 'multi');
    await cli(b, 'dns-add', '10.99.0.2', 'multi');
    const orders = new Set<string>();
    await eventually(async () => expect((await dig(c, '+short', 'multi')).trim().split('\n').sort()).toEqual(['10.99.0.1', '10.99.0.2']), 10_000);
    for (let i = 0; i < 20; i++) orders.add((await dig(c, '+short', 'multi')).trim());
    expect(orders.size).toBe(2);
    expect(await dig(c, '+noall', '+answer', 'multi.weave.local')).toMatch(/multi\.weave\.local\.\s+30\s+IN\s+A/);
  });

  it('stops resolving a removed name on every host within the gossip interval', async () => {
    const [a, b, c] = sides;
    await cli(a, 'dns-remove', a.container.ip, 'web');
    const removedAt = Date.now();
    await eventually(async () => {
      for (const s of [a, b, c]) expect(await dig(s, 'web.weave.local')).toMatch(/status: NXDOMAIN/);
    }, 5_000, 100);
    expect(Date.now() - removedAt).toBeLessThan(2_000);
  });

  it('forwards other names upstream, over TCP when the UDP answer is truncated', async () => {
    const [a] = sides;
    expect((await dig(a, '+short', 'example.org')).trim()).toBe('192.0.2.1');
    const big = await dig(a, 'big.example.org');
    expect(big).toMatch(/ANSWER: 40/); // the server fetched it whole over TCP (and dig retried over TCP)
    const status = await a.daemon.status();
    expect((status as unknown as { dns: { upstream: string[]; counters: { forwarded: number } } }).dns.upstream).toEqual([upstream.ip]);
  });

  it('re-reads resolv.conf, never forwards to itself, and answers SERVFAIL when every upstream fails', async () => {
    const [a] = sides;
    writeFileSync(resolvConf, `nameserver ${gateway(a)}\nnameserver 10.201.0.250\n`);
    await eventually(async () => expect(((await a.daemon.status()) as unknown as { dns: { upstream: string[] } }).dns.upstream).toEqual(['10.201.0.250']), 10_000);
    expect(await dig(a, '+time=5', 'example.org')).toMatch(/status: SERVFAIL/);
    writeFileSync(resolvConf, `nameserver ${upstream.ip}\n`);
  });

  it('drops the records of a peer that left, and has them back when it returns', async () => {
    const [a, , c] = sides;
    expect((await dig(c, '+short', 'multi.weave.local')).trim().split('\n').sort()).toEqual(['10.99.0.1', '10.99.0.2']);
    await a.daemon.stop(); // a departs: its record for multi goes with it
    await eventually(async () => expect((await dig(c, '+short', 'multi.weave.local')).trim()).toBe('10.99.0.2'), 10_000);
    await a.daemon.start(40_000);
    // Its records were kept in its run dir: back with it.
    await eventually(async () => expect((await dig(c, '+short', 'multi.weave.local')).trim().split('\n').sort()).toEqual(['10.99.0.1', '10.99.0.2']), 10_000);
  });

  it.each([
    ['short', null],
    ['truncated-question', 1],
    ['compression-loop', 1],
    ['absurd-counts', 1],
    ['no-question', 1],
    ['response', 1],
  ])('answers a malformed %s message with FORMERR (or silence) and goes on', async (kind, rcode) => {
    const [, b] = sides;
    const reply = JSON.parse(await lab.exec(b.container.ns, process.execPath, [PROBE, gateway(b), kind]));
    expect(reply.rcode).toBe(rcode);
    expect(await dig(b, 'multi.weave.local')).toMatch(/status: NOERROR/);
  });

  it('takes 200,000 random and mutated queries at its port: every one answered or counted, memory flat, names still served', async () => {
    const [, b] = sides;
    const status = async () => (await b.daemon.status()) as unknown as { dns: { counters: Record<string, number> }; process: { rssMb: number; fds: number } };
    // A valid query for multi.weave.local (A), to mutate.
    const name = Buffer.concat(['multi', 'weave', 'local'].map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)])));
    const seed = Buffer.concat([Buffer.from('123401000001000000000000', 'hex'), name, Buffer.from('0000010001', 'hex')]);
    // Mutated names fall outside weave.local and are forwarded: each forward holds a socket until
    // answered, so make the upstream one that never answers (no host holds that lab address) and
    // watch the descriptors.
    writeFileSync(resolvConf, 'nameserver 10.201.0.250\n');
    await eventually(async () => expect(((await b.daemon.status()) as unknown as { dns: { upstream: string[] } }).dns.upstream).toEqual(['10.201.0.250']), 10_000);
    const before = await status();
    let peakFds = before.process.fds;
    let flooding = true;
    const watch = (async () => {
      while (flooding) {
        peakFds = Math.max(peakFds, (await status()).process.fds);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const out = await lab.exec(b.container.ns, process.execPath, [FUZZ, gateway(b), '53', '200000', seed.toString('hex')], 90_000);
    flooding = false;
    await watch;
    expect(JSON.parse(out).sent).toBe(200_000);
    expect(peakFds - before.process.fds).toBeLessThanOrEqual(MAX_IN_FLIGHT + 10);
    await new Promise((r) => setTimeout(r, 2500)); // the forwards in flight time out
    writeFileSync(resolvConf, `nameserver ${upstream.ip}\n`);
    await new Promise((r) => setTimeout(r, 500));
    const after = await status();
    const counted = (k: string) => after.dns.counters[k] - before.dns.counters[k];
    // The kernel may drop some under the flood before the server sees them; what it saw, it accounted for.
    expect(counted('queries')).toBeGreaterThan(20_000);
    expect(counted('formerr') + counted('dropped')).toBeGreaterThan(2_000);
    expect(after.process.rssMb - before.process.rssMb).toBeLessThan(30);
    expect(counted('forwardsRefused')).toBeGreaterThan(0);
    expect(after.process.fds - before.process.fds).toBeLessThan(5);
    expect(await dig(b, 'multi.weave.local')).toMatch(/status: NOERROR/);
    process.stdout.write(`DNS fuzz: 200000 sent, ${counted('queries')} seen, ${counted('formerr')} FORMERR, ${counted('dropped')} dropped, ${counted('local')} answered locally, ${counted('forwarded')} forwarded, ${counted('forwardsRefused')} forwards refused, fds ${before.process.fds} -> peak ${peakFds}, RSS ${before.process.rssMb} -> ${after.process.rssMb} MB\n`);
  }, 120_000);
});
