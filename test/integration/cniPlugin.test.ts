// The CNI plugin called directly, as a runtime calls it, on a host running
// tsoverlay in static mode: every command, every config version, and bad
// input, each checked against what is really left in the kernel and on disk.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { CNI_NETWORK } from '../../src/lab/labPodman.js';
import { run } from '../../src/lab/shell.js';
import { cniCall, type CniCallEnv } from '../helpers/cniCall.js';

const SUBNET = '10.92.1.0/24';

describe('the tsoverlay CNI plugin, called as a runtime calls it', () => {
  let lab: Lab;
  let host: LabHost;
  let daemon: LabDaemon;
  let dataDir: string;
  let ipamDir: string;
  let sandboxes = 0;

  const config = (version = '1.0.0', extra: Record<string, unknown> = {}) => ({
    cniVersion: version, name: CNI_NETWORK, type: 'tsoverlay', runDir: daemon.runDir, dataDir,
    delegate: { ipam: { dataDir: ipamDir } }, ...extra,
  });
  /** A fresh sandbox namespace and the env that attaches a container in it. */
  const container = async (args = ''): Promise<CniCallEnv & { ns: string }> => {
    const ns = await lab.addSandbox(`k${++sandboxes}`);
    return { ns, containerId: `c${sandboxes}x${lab.id.replace(/[^a-z0-9]/g, '')}`, netns: `/var/run/netns/${ns}`, args };
  };
  const hostVeths = async () => (await lab.exec(host.ns, 'ip', ['-o', 'link', 'show', 'type', 'veth'])).trim().split('\n').filter(Boolean).length;
  const reserved = () => (existsSync(join(ipamDir, CNI_NETWORK)) ? readdirSync(join(ipamDir, CNI_NETWORK)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : []);
  const stored = () => (existsSync(join(dataDir, CNI_NETWORK)) ? readdirSync(join(dataDir, CNI_NETWORK)) : []);
  const cni = (command: string, input: object | string, env: CniCallEnv = {}, omit: string[] = []) => cniCall(host.ns, command, input, env, omit);
  const dig = (name: string) => lab.exec(host.ns, 'dig', ['@10.92.1.1', '+tries=1', '+time=3', '+short', name]);

  beforeAll(async () => {
    lab = await Lab.create();
    host = await lab.addHost('h');
    daemon = await lab.startDaemon(host, ['--backend', 'udp', '--network', '10.92.0.0/16', '--subnet', SUBNET, '--public-ip', host.ip, '--bridge', 'tsobr']);
    dataDir = join(lab.dir, 'cni-data');
    ipamDir = join(lab.dir, 'ipam');
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('answers VERSION with the spec versions it speaks', async () => {
    const r = await cni('VERSION', '{"cniVersion":"1.1.0"}');
    expect(r.exit).toBe(0);
    expect(r.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('is installed by scripts/setup where runtimes look for it', () => {
    const r = spawnSync('/opt/cni/bin/tsoverlay', { env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}${r.error ?? ''} (run scripts/setup)`).toBe(0);
    expect(JSON.parse(r.stdout).supportedVersions).toContain('1.1.0');
    expect(JSON.parse(readFileSync('/etc/cni/net.d/10-tsoverlay.conflist', 'utf8')).plugins[0].type).toBe('tsoverlay');
  });

  it('answers STATUS with success while the daemon runs', async () => {
    const r = await cni('STATUS', config('1.1.0'));
    expect(r).toMatchObject({ exit: 0, json: null });
  });

  it.each(['0.3.1', '0.4.0', '1.0.0', '1.1.0'])('attaches, checks and detaches a container with a %s config', async (version) => {
    const c = await container();
    const before = await hostVeths();
    const added = await cni('ADD', config(version), c);
    expect(added.exit, added.stdout).toBe(0);
    expect(added.json.cniVersion).toBe(version);
    const address: string = added.json.ips[0].address;
    expect(address).toMatch(/^10\.92\.1\.\d+\/24$/);
    expect(added.json.ips[0].gateway).toBe('10.92.1.1');
    // In the sandbox: the interface with the address, the overlay's MTU and a route to the whole network.
    const link = await lab.exec(c.ns, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(link).toContain(address);
    expect(await lab.exec(c.ns, 'ip', ['link', 'show', 'eth0'])).toContain(`mtu ${(await daemon.status()).mtu}`);
    expect(await lab.exec(c.ns, 'ip', ['route'])).toContain('10.92.0.0/16 via 10.92.1.1');
    expect(await hostVeths()).toBe(before + 1);
    expect(reserved()).toContain(address.split('/')[0]);
    if (version !== '0.3.1') {
      const checked = await cni('CHECK', { ...config(version), prevResult: added.json }, c);
      expect(checked.exit, checked.stdout).toBe(0);
    }
    // The runtime may call DEL again (a retry, a restart): both succeed.
    for (let i = 0; i < 2; i++) {
      const deleted = await cni('DEL', { ...config(version), prevResult: added.json }, c);
      expect(deleted.exit, deleted.stdout).toBe(0);
    }
    expect(await hostVeths()).toBe(before);
    expect(reserved()).not.toContain(address.split('/')[0]);
    expect(await lab.exec(c.ns, 'ip', ['-o', 'link'])).not.toContain('eth0');
    expect(stored()).toEqual([]);
  });

  it('CHECK finds a missing address and a missing route', async () => {
    const c = await container();
    const added = await cni('ADD', config(), c);
    expect(added.exit).toBe(0);
    const check = () => cni('CHECK', { ...config(), prevResult: added.json }, c);
    expect((await check()).exit).toBe(0);
    await lab.exec(c.ns, 'ip', ['route', 'del', '10.92.0.0/16']);
    const noRoute = await check();
    expect(noRoute.exit).not.toBe(0);
    expect(noRoute.json.msg).toMatch(/route/i);
    await lab.exec(c.ns, 'ip', ['route', 'add', '10.92.0.0/16', 'via', '10.92.1.1']);
    expect((await check()).exit).toBe(0);
    await lab.exec(c.ns, 'ip', ['addr', 'flush', 'dev', 'eth0']);
    const noAddress = await check();
    expect(noAddress.exit).not.toBe(0);
    expect(noAddress.json.code).toBeGreaterThan(0);
    expect((await cni('DEL', config(), c)).exit).toBe(0);
  });

  it('refuses a second ADD of the same container and interface, and keeps the first', async () => {
    const c = await container();
    const first = await cni('ADD', config(), c);
    expect(first.exit).toBe(0);
    const veths = await hostVeths();
    const second = await cni('ADD', config(), c);
    expect(second.exit).not.toBe(0);
    expect(second.json).toMatchObject({ cniVersion: '1.0.0', code: 4 });
    expect(second.json.msg).toContain('already has eth0');
    expect(await hostVeths()).toBe(veths);
    expect((await cni('CHECK', { ...config(), prevResult: first.json }, c)).exit).toBe(0);
    expect((await cni('DEL', config(), c)).exit).toBe(0);
  });

  it('names a container from K8S_POD_NAME / K8S_POD_NAMESPACE, and drops the name at DEL', async () => {
    const c = await container('IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=Web_0');
    const added = await cni('ADD', config(), c);
    expect(added.exit, added.stdout).toBe(0);
    const ip = added.json.ips[0].address.split('/')[0];
    expect((await dig('web-0.prod.weave.local')).trim()).toBe(ip);
    expect(added.json.dns).toEqual({ nameservers: ['10.92.1.1'], search: ['weave.local'] });
    expect((await cni('DEL', config(), c)).exit).toBe(0);
    expect((await dig('web-0.prod.weave.local')).trim()).toBe('');
  });

  it('undoes a failed ADD: no interface, no address, no record left', async () => {
    // host-local with a range of one address: the second container cannot get one.
    const oneAddress = config('1.0.0', { delegate: { ipam: { dataDir: ipamDir, ranges: [[{ subnet: SUBNET, rangeStart: '10.92.1.200', rangeEnd: '10.92.1.200' }]] } } });
    const a = await container('K8S_POD_NAME=first');
    const b = await container('K8S_POD_NAME=second');
    const first = await cni("ADD", oneAddress, a);
    expect(first.exit, first.stdout).toBe(0);
    const veths = await hostVeths();
    const failed = await cni('ADD', oneAddress, b);
    expect(failed.exit).not.toBe(0);
    expect(failed.json.msg).toMatch(/no IP addresses available|range/i);
    expect(await hostVeths()).toBe(veths);
    expect(await lab.exec(b.ns, 'ip', ['-o', 'link'])).not.toContain('eth0');
    expect(reserved()).toEqual(['10.92.1.200']);
    expect(stored()).toHaveLength(1);
    expect((await dig('second.weave.local')).trim()).toBe('');
    expect((await cni('DEL', oneAddress, a)).exit).toBe(0);
    expect(reserved()).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"cniVersion": "1.0.0", "name": ', {}, [], 6, /not JSON/],
    ['an unknown cniVersion', { cniVersion: '2.0.0', name: CNI_NETWORK, type: 'tsoverlay' }, {}, [], 1, /cniVersion "2.0.0" is not supported/],
    ['no network name', { cniVersion: '1.0.0', type: 'tsoverlay' }, {}, [], 7, /network name/],
    ['no CNI_CONTAINERID', null, {}, ['CNI_CONTAINERID'], 4, /CNI_CONTAINERID is not set/],
    ['no CNI_NETNS', null, { netns: '' }, [], 4, /CNI_NETNS is not set/],
    ['a container id that climbs out of the data dir', null, { containerId: '../../etc' }, [], 4, /CNI_CONTAINERID/],
    ['a run dir with no daemon', { cniVersion: '1.0.0', name: CNI_NETWORK, type: 'tsoverlay', runDir: '/nonexistent/tsoverlay' }, {}, [], 50, /no tsoverlay daemon is running with run dir \/nonexistent\/tsoverlay/],
    ['no bridge plugin in CNI_PATH', null, { path: '/nonexistent' }, [], 4, /bridge plugin is not in CNI_PATH/],
  ] as const)('answers %s with its CNI error code and leaves nothing behind', async (_what, input, env, omit, code, message) => {
    const c = await container();
    const veths = await hostVeths();
    const r = await cni('ADD', input ?? config(), { ...c, ...env }, [...omit]);
    expect(r.exit).not.toBe(0);
    expect(r.json).toMatchObject({ code });
    expect(r.json.msg).toMatch(message);
    expect(typeof r.json.cniVersion).toBe('string');
    expect(await hostVeths()).toBe(veths);
    expect(reserved()).toEqual([]);
    expect(stored()).toEqual([]);
  });

  it('GC releases the attachments the runtime no longer lists', async () => {
    const keep = await container();
    const gone = await container('K8S_POD_NAME=stale');
    const kept = await cni('ADD', config('1.1.0'), keep);
    const stale = await cni('ADD', config('1.1.0'), gone);
    expect([kept.exit, stale.exit]).toEqual([0, 0]);
    expect((await dig('stale.weave.local')).trim()).not.toBe('');
    // The runtime lost the second container: its sandbox went with it.
    await run('ip', ['netns', 'del', gone.ns]);
    const r = await cni('GC', { ...config('1.1.0'), 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] });
    expect(r.exit, r.stdout).toBe(0);
    expect(reserved()).toEqual([kept.json.ips[0].address.split('/')[0]]);
    expect(stored()).toHaveLength(1);
    expect((await dig('stale.weave.local')).trim()).toBe('');
    expect((await cni('CHECK', { ...config('1.1.0'), prevResult: kept.json }, keep)).exit).toBe(0);
    expect((await cni('DEL', config('1.1.0'), keep)).exit).toBe(0);
  });

  it('answers STATUS with error 50 once the daemon is gone, still deletes, and the name goes at the next start', async () => {
    const c = await container('K8S_POD_NAME=orphan');
    const added = await cni('ADD', config(), c);
    expect(added.exit).toBe(0);
    expect((await dig('orphan.weave.local')).trim()).toBe(added.json.ips[0].address.split('/')[0]);
    await daemon.stop();
    const status = await cni('STATUS', config('1.1.0'));
    expect(status.exit).not.toBe(0);
    expect(status.json).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    expect(status.json.msg).toMatch(/no tsoverlay daemon is running/);
    const add = await cni('ADD', config(), await container());
    expect(add.json.code).toBe(50);
    // DEL works from what ADD kept: the address goes back, daemon or not.
    expect((await cni('DEL', { ...config(), prevResult: added.json }, c)).exit).toBe(0);
    expect(reserved()).toEqual([]);
    expect(stored()).toEqual([]);
    // The daemon kept its records across the stop; the one whose container went is dropped as it starts.
    await daemon.start();
    expect((await dig('orphan.weave.local')).trim()).toBe('');
    expect(existsSync(join(daemon.runDir, 'stale-names.json'))).toBe(false);
  });
});
