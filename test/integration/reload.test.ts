// Reload (SIGHUP, `tsoverlay reload`): the --config file is read again and
// what may change live is applied — static routes, the log level — without
// a restart; an option that cannot change is named and left as it was; a
// file that does not parse changes nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabContainer, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { eventually } from '../helpers/eventually.js';
import { ping } from '../helpers/traffic.js';

const TSOVERLAY_BIN = join(import.meta.dirname, '..', '..', 'bin', 'tsoverlay');
const NETWORK = '10.40.0.0/16';
const subnetOf = (i: number) => `10.40.${i + 1}.0/24`;

describe('static routes changed by a reload, on three hosts', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let daemons: LabDaemon[];
  let containers: LabContainer[];
  let configFile: string;
  const routeTo = (i: number) => `--route ${subnetOf(i)}=${hosts[i].ip}`;

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    configFile = join(lab.dir, 'a-launch.conf');
    // a starts knowing only b; b and c know a.
    writeFileSync(configFile, `# a's routes\n${routeTo(1)}\n`);
    daemons = [];
    for (const [i, host] of hosts.entries()) {
      const own = ['--backend', 'udp', '--network', NETWORK, '--subnet', subnetOf(i), '--public-ip', host.ip, '--bridge', 'tsobr'];
      daemons.push(await lab.startDaemon(host, i === 0 ? [...own, '--config', configFile] : [...own, '--route', `${subnetOf(0)}=${hosts[0].ip}`]));
    }
    containers = [];
    for (const [i, host] of hosts.entries()) {
      const gateway = subnetOf(i).replace(/0\/24$/, '1');
      containers.push(await lab.addContainer(host, 'c1', `${gateway.replace(/1$/, '2')}/24`, gateway, 'tsobr', (await daemons[i].status()).mtu));
    }
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  /** A ping that may fail: its summary line, or the error's. */
  const tryPing = (from: LabContainer, to: string) => ping(lab, from, to, 1).catch((error: Error) => error.message);
  const reload = () => lab.exec(hosts[0].ns, process.execPath, [TSOVERLAY_BIN, 'reload', '--api', daemons[0].apiSocket]);

  it('adds a route on SIGHUP: a host it could not reach is reached, the one it could still is', async () => {
    expect(await tryPing(containers[0], containers[2].ip)).toMatch(/ 0 received/);
    const pid = daemons[0].pid!;
    writeFileSync(configFile, `${routeTo(1)}\n${routeTo(2)}\n`);
    process.kill(pid, 'SIGHUP');
    await eventually(async () => expect((await daemons[0].status()).routes.map((r) => r.subnet).sort()).toEqual([subnetOf(1), subnetOf(2)]));
    expect(await ping(lab, containers[0], containers[2].ip)).toMatch(/3 received/);
    expect(await ping(lab, containers[0], containers[1].ip)).toMatch(/3 received/);
    expect(daemons[0].pid).toBe(pid);
    expect(daemons[0].log).toMatch(/"msg":"reloaded"/);
  });

  it('removes a route and changes the log level with `tsoverlay reload`, and says what it did', async () => {
    writeFileSync(configFile, `${routeTo(2)}\n--log-level warn\n`);
    const out = await reload();
    expect(out).toMatch(/applied: log level warn; routes: 10\.40\.3\.0\/24=10\.201\.0\.3/);
    expect((await daemons[0].status()).routes.map((r) => r.subnet)).toEqual([subnetOf(2)]);
    expect(await tryPing(containers[0], containers[1].ip)).toMatch(/ 0 received/);
    expect(await ping(lab, containers[0], containers[2].ip)).toMatch(/3 received/);
  });

  it('names an option that cannot change live, leaves it as it was, and applies the rest', async () => {
    writeFileSync(configFile, `${routeTo(1)}\n${routeTo(2)}\n--mtu 1300\n--log-level info\n`);
    const out = await reload();
    expect(out).toMatch(/needs a restart \(left as they were\): --mtu/);
    const status = await daemons[0].status();
    expect(status.mtu).not.toBe(1300);
    expect(status.routes).toHaveLength(2);
    expect(daemons[0].log).toMatch(/"options":\["--mtu"\],"msg":"reload: these options cannot change while running; restart to apply them"/);
  });

  it('refuses a file that does not parse, changing nothing, and keeps running', async () => {
    writeFileSync(configFile, `${routeTo(1)}\n--route not-a-route\n`);
    await expect(reload()).rejects.toThrow(/--route/);
    expect((await daemons[0].status()).routes).toHaveLength(2);
    expect(await ping(lab, containers[0], containers[2].ip)).toMatch(/3 received/);
  });
});
