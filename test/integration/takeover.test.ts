// launch --takeover on an encrypted mesh line a-b-c: the relay handed over to
// a successor while a TCP transfer runs through it. The successor gets the
// same TUN, the UDP socket and the control connections: the old process is
// gone, the neighbours saw no connection drop and no new handshake, the
// transfer arrives whole. A second takeover while one is in progress, state
// that does not parse, a successor started with other options and a
// takeover socket opened by another process are refused in one line, with
// the running daemon left alone.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/nodeFlags.js';
import { addEtcdSide, type EtcdSide, startLabEtcd } from '../../src/lab/etcdHosts.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { processAlive } from '../../src/state/daemonInfo.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { type MeshSide, meshArgs, onlyLinks, startMesh } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { launchOutcome } from '../helpers/failedLaunch.js';
import { ping, transfer } from '../helpers/traffic.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';

const MB = 1 << 20;

async function ifindex(lab: Lab, side: MeshSide): Promise<number> {
  return (JSON.parse(await lab.exec(side.host.ns, 'ip', ['-j', 'link', 'show', 'dev', 'tso0'])) as { ifindex: number }[])[0].ifindex;
}

describe('launch --takeover on an encrypted mesh line a-b-c', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let sides: MeshSide[];
  let other: { dir: string; command: string[] };

  beforeAll(async () => {
    lab = await Lab.create();
    other = secondInstall();
    hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
    await onlyLinks(lab, hosts, ['a-b', 'b-c']);
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []), ['--password', 'takeover']);
    await eventually(async () => expect(await ping(lab, sides[0].container, sides[2].container.ip, 1)).toMatch(/1 received/), 20_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
    if (other) rmSync(other.dir, { recursive: true, force: true });
  });

  it('hands the relay over to another install during a transfer: the same TUN, the old process gone, every byte through', async () => {
    const [a, b, c] = sides;
    const [oldPid, index] = [(await b.daemon.status()).process.pid, await ifindex(lab, b)];
    const moving = transfer(lab, a.container, c.container, 12 * MB, 5001, 3 * MB);
    await new Promise((r) => setTimeout(r, 1500));
    const [aLog, cLog] = [a.daemon.log.length, c.daemon.log.length];
    // An upgrade: the successor is another install of the build.
    await b.daemon.start(40_000, true, other.command);
    const status = await b.daemon.status();
    expect(status.process.pid).not.toBe(oldPid);
    expect(processAlive(oldPid)).toBe(false);
    expect(await ifindex(lab, b)).toBe(index);
    expect(b.daemon.log).toMatch(/handed over to a successor/);
    expect(b.daemon.log).toMatch(/"neighbours":2,"msg":"mesh taken over"/);
    expect(b.daemon.log).toMatch(/"msg":"took over"/);
    const r = await moving;
    expect(r.received).toEqual(r.sent);
    // The neighbours' connections were handed over, not made anew.
    for (const log of [a.daemon.log.slice(aLog), c.daemon.log.slice(cLog)]) {
      expect(log).not.toMatch(/"msg":"lost peer"/);
      expect(log).not.toMatch(/"msg":"connected to peer"/);
    }
    expect(status.mesh!.connections.length).toBe(2);
    // Back to this install for the tests below.
    await b.daemon.start(40_000, true, [process.execPath, ...DAEMON_NODE_FLAGS, TSOVERLAY_BIN]);
    await eventually(async () => expect(await ping(lab, a.container, c.container.ip, 1)).toMatch(/1 received/), 10_000);
  });

  it('tsoverlay restart: the daemon starts its successor, which takes over and tells systemd it is the main process now', async () => {
    const [a, b, c] = sides;
    const socket = join(b.daemon.runDir, 'notify.sock');
    const listener = lab.track(spawn('python3', ['-u', '-c', `import socket\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(socket)})\nprint('up')\nwhile True: print(s.recv(4096).decode().replace(chr(10), ' '))`], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let notified = '';
    listener.stdout!.on('data', (d: Buffer) => (notified += d.toString()));
    await eventually(async () => expect(notified).toMatch(/up/), 5000);
    // As systemd starts it: NOTIFY_SOCKET in its environment (and its successor's).
    process.env.NOTIFY_SOCKET = socket;
    try {
      await b.daemon.start(40_000, true);
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    const first = (await b.daemon.status()).process.pid;
    await eventually(async () => expect(notified).toContain(`READY=1 MAINPID=${first}`), 5000);
    const moving = transfer(lab, a.container, c.container, 8 * MB, 5002, 2 * MB);
    await new Promise((r) => setTimeout(r, 1000));
    const out = await lab.exec(b.host.ns, process.execPath, [TSOVERLAY_BIN, 'restart', '--api', b.daemon.apiSocket], 60_000);
    const successor = (await b.daemon.status()).process.pid;
    lab.onCleanup(async () => void (processAlive(successor) && process.kill(successor, 'SIGKILL')));
    expect(out.trim()).toBe(`restarted: pid ${first} handed over to pid ${successor}`);
    expect(successor).not.toBe(first);
    expect(processAlive(first)).toBe(false);
    await eventually(async () => expect(notified).toContain(`READY=1 MAINPID=${successor}`), 5000);
    const r = await moving;
    expect(r.received).toEqual(r.sent);
    // The lab takes the daemon back (a takeover of its own), so that it is stopped with the lab.
    await b.daemon.start(40_000, true);
    expect(processAlive(successor)).toBe(false);
    await eventually(async () => expect(await ping(lab, a.container, c.container.ip, 1)).toMatch(/1 received/), 10_000);
  });

  it('refuses a second takeover while one is in progress, and leaves the running daemon alone', async () => {
    const b = sides[1];
    const pid = (await b.daemon.status()).process.pid;
    const holder = lab.track(spawn('sleep', ['60'], { stdio: 'ignore' }));
    writeFileSync(join(b.daemon.runDir, 'takeover.lock'), String(holder.pid));
    const args = ['--run-dir', b.daemon.runDir, '--api', join(b.daemon.runDir, 'other.sock'), '--takeover', ...meshArgs(hosts[1], [hosts[0]])];
    const outcome = await launchOutcome(lab, hosts[1], args);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toEqual([`tsoverlay: --takeover refused: another takeover (pid ${holder.pid}) is in progress; the running daemon left alone`]);
    expect((await b.daemon.status()).process.pid).toBe(pid);
    holder.kill('SIGKILL');
  });

  it('refuses a successor started with other options, and leaves the running daemon alone', async () => {
    const b = sides[1];
    const pid = (await b.daemon.status()).process.pid;
    const logAt = b.daemon.log.length;
    const args = ['--run-dir', b.daemon.runDir, '--api', join(b.daemon.runDir, 'other.sock'), '--takeover', '--no-offload', ...meshArgs(hosts[1], [hosts[0]])];
    const outcome = await launchOutcome(lab, hosts[1], args);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toEqual([`tsoverlay: --takeover refused, the running daemon (pid ${pid}) left alone: it runs with offload true, this one with offload false; restart it instead`]);
    expect((await b.daemon.status()).process.pid).toBe(pid);
    await eventually(async () => expect(b.daemon.log.slice(logAt)).toMatch(/the successor gave up; going on/), 5000);
    await eventually(async () => expect(await ping(lab, sides[0].container, sides[2].container.ip, 1)).toMatch(/1 received/), 10_000);
  });

  it('gives nothing to a takeover socket another process opened, nor to a stray signal, and goes on', async () => {
    const b = sides[1];
    const pid = (await b.daemon.status()).process.pid;
    const logAt = b.daemon.log.length;
    const holder = lab.track(spawn('sleep', ['60'], { stdio: 'ignore' }));
    writeFileSync(join(b.daemon.runDir, 'takeover.lock'), String(holder.pid));
    const socket = join(b.daemon.runDir, 'takeover.sock');
    const squatter = lab.track(spawn('python3', ['-c', `import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.bind(${JSON.stringify(socket)})\ns.listen(1)\nprint('up',flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] }));
    await new Promise((r) => squatter.stdout!.once('data', r));
    process.kill(pid, 'SIGUSR2');
    await eventually(async () => expect(b.daemon.log.slice(logAt)).toMatch(/refused a takeover: the takeover socket is not the successor's; going on/), 5000);
    squatter.kill('SIGKILL');
    holder.kill('SIGKILL');
    rmSync(socket, { force: true });
    rmSync(join(b.daemon.runDir, 'takeover.lock'), { force: true });
    // A stray signal, with no successor holding the lock, is not a reason to go either.
    process.kill(pid, 'SIGUSR2');
    await eventually(async () => expect(b.daemon.log.slice(logAt)).toMatch(/asked to hand over, but no successor holds the takeover lock; going on/), 5000);
    expect((await b.daemon.status()).process.pid).toBe(pid);
    await eventually(async () => expect(await ping(lab, sides[0].container, sides[2].container.ip, 1)).toMatch(/1 received/), 10_000);
  });

  it('refuses when the state it would read does not parse, and leaves the running daemon alone', async () => {
    const b = sides[1];
    const pid = (await b.daemon.status()).process.pid;
    const file = join(b.daemon.runDir, 'ipam.json');
    const kept = readFileSync(file, 'utf8');
    writeFileSync(file, '{"ring": ');
    const args = ['--run-dir', b.daemon.runDir, '--api', join(b.daemon.runDir, 'other.sock'), '--takeover', ...meshArgs(hosts[1], [hosts[0]])];
    const outcome = await launchOutcome(lab, hosts[1], args);
    writeFileSync(file, kept);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(new RegExp(`--takeover refused, the running daemon \\(pid ${pid}\\) left alone: .*ipam.json does not parse`));
    expect((await b.daemon.status()).process.pid).toBe(pid);
    await eventually(async () => expect(await ping(lab, sides[0].container, sides[2].container.ip, 1)).toMatch(/1 received/), 10_000);
  });
});

describe('launch --takeover in static mode, dual stack over an IPv6 underlay', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'udp', 'udp', { ipv6: true, underlay6: true });
    await eventually(async () => expect(await ping(lab, net.a.container, net.b.container.ip, 1)).toMatch(/1 received/), 20_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('hands over during a transfer: the UDP socket on the IPv6 underlay goes on, every byte through, IPv6 inside too', async () => {
    const daemon = net.a.daemon!;
    const before = (await daemon.status()).process.pid;
    const moving = transfer(lab, net.b.container, net.a.container, 12 * MB, 5001, 3 * MB);
    await new Promise((r) => setTimeout(r, 1000));
    await daemon.start(40_000, true);
    const after = await daemon.status();
    expect(after.process.pid).not.toBe(before);
    expect(daemon.log).toMatch(/"msg":"took over"/);
    const r = await moving;
    expect(r.received).toEqual(r.sent);
    expect(after.counters.drops.no_route).toBe(0);
    expect(await lab.exec(net.b.container.ns, 'ping', ['-6', '-c', '1', '-W', '2', net.a.container6!])).toMatch(/1 received/);
  });
});

/** A second install of this build (bin, dist, the addon; node_modules shared), as an upgrade brings one. */
function secondInstall(): { dir: string; command: string[] } {
  const root = join(dirname(TSOVERLAY_BIN), '..');
  const dir = mkdtempSync(join(tmpdir(), 'tsotest-build-'));
  for (const part of ['bin', 'dist', 'package.json']) cpSync(join(root, part), join(dir, part), { recursive: true });
  mkdirSync(join(dir, 'native-bindings/build/Release'), { recursive: true });
  cpSync(join(root, 'native-bindings/build/Release/tsoverlay_native.node'), join(dir, 'native-bindings/build/Release/tsoverlay_native.node'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return { dir, command: [process.execPath, ...DAEMON_NODE_FLAGS, join(dir, 'bin', 'tsoverlay')] };
}

describe('launch --takeover between two installs, in etcd mode', () => {
  let lab: Lab;
  let a: EtcdSide;
  let b: EtcdSide;
  let other: { dir: string; command: string[] };

  beforeAll(async () => {
    lab = await Lab.create();
    other = secondInstall();
    const etcd = await startLabEtcd(lab, { Network: '10.91.0.0/16', Backend: { Type: 'vxlan' } });
    a = await addEtcdSide(lab, await lab.addHost('a'), etcd);
    b = await addEtcdSide(lab, await lab.addHost('b'), etcd);
    await eventually(async () => expect(await ping(lab, a.container, b.container.ip, 1)).toMatch(/1 received/), 20_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
    if (other) rmSync(other.dir, { recursive: true, force: true });
  });

  it('hands over to the other install and back during a transfer: same subnet, same etcd lease, every byte through', async () => {
    const before = await a.daemon.status();
    const moving = transfer(lab, b.container, a.container, 16 * MB, 5001, 3 * MB);
    await new Promise((r) => setTimeout(r, 1000));
    await a.daemon.start(40_000, true, other.command);
    const upgraded = await a.daemon.status();
    expect(upgraded.process.pid).not.toBe(before.process.pid);
    await new Promise((r) => setTimeout(r, 1000));
    await a.daemon.start(40_000, true, [process.execPath, ...DAEMON_NODE_FLAGS, TSOVERLAY_BIN]);
    const back = await a.daemon.status();
    expect(back.process.pid).not.toBe(upgraded.process.pid);
    for (const s of [upgraded, back]) {
      expect(s.subnet).toBe(before.subnet);
      expect(s.etcd!.leaseId).toBe(before.etcd!.leaseId);
    }
    const r = await moving;
    expect(r.received).toEqual(r.sent);
  });
});
