// A lab of hosts on one machine: each host a network namespace joined to an
// underlay bridge, each container a namespace behind its host's bridge. Used
// by the tests, the demo and the benchmarks. Everything it creates carries
// the prefix `tsolab-<pid>-` and is removed by cleanup(), by the exit
// handler, or by the next lab if this process died first.
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../state/daemonInfo.js';
import { inNamespace, run, runSync } from './shell.js';
import { LabDaemon } from './labDaemon.js';
import type { LabContainer, LabHost } from './labHost.js';

const PREFIX = 'tsolab-';
let labCount = 0;

export type { LabContainer, LabHost } from './labHost.js';

export class Lab {
  readonly id: string;
  readonly underlay: string;
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly daemons: LabDaemon[] = [];
  private readonly processes: ChildProcess[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly resolverDirs: string[] = [];
  private readonly onExit = () => this.cleanupSync();
  private hostCount = 0;

  private constructor(readonly underlayNet: string) {
    this.id = `${PREFIX}${process.pid}-${labCount++}`;
    this.underlay = `${this.id}-u`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.id}-`));
  }

  /** A lab with an empty underlay `<underlayNet>.0/24` (default 10.201.0). */
  static async create(underlayNet = '10.201.0'): Promise<Lab> {
    await sweepStaleLabs();
    const lab = new Lab(underlayNet);
    process.on('exit', lab.onExit);
    await lab.addNamespace(lab.underlay);
    await inNamespace(lab.underlay, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await inNamespace(lab.underlay, 'ip', ['link', 'set', 'br0', 'up']);
    return lab;
  }

  /** A host on the underlay (no default route: it reaches the underlay's /24 only). */
  async addHost(name: string): Promise<LabHost> {
    const ns = `${this.id}-${name}`;
    const ip = `${this.underlayNet}.${++this.hostCount}`;
    await this.addNamespace(ns);
    await this.plug(ns, 'eth0', { ns: this.underlay, bridge: 'br0' }, `v-${name}`, `${ip}/24`);
    return { name, ns, ip };
  }

  /**
   * Gives a host an IPv6 address on the underlay too (fd99::N/64, no
   * duplicate address detection): an IPv6 underlay beside the IPv4 one.
   */
  async addUnderlayIPv6(host: LabHost): Promise<string> {
    const ip = `fd99::${host.ip.split('.')[3]}`;
    await run('ip', ['-n', host.ns, 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
    return ip;
  }

  /** A host on a LAN of its own (lanNet.0/24 behind `lan.bridge` in `lan.ns`), its default route via `lan.gateway`. */
  async addLanHost(name: string, lan: { ns: string; bridge: string; gateway: string }, ip: string): Promise<LabHost> {
    const ns = `${this.id}-${name}`;
    await this.addNamespace(ns);
    await this.plug(ns, 'eth0', lan, `v-${name}`, `${ip}/24`);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', lan.gateway]);
    return { name, ns, ip };
  }

  /** One more interface `ifname` in `ns` holding `cidr`, its other end `outside` in `on.ns`: on the bridge `on.bridge`, or a link of its own (null). */
  async plug(ns: string, ifname: string, on: { ns: string; bridge: string | null }, outside: string, cidr: string): Promise<void> {
    await run('ip', ['-n', on.ns, 'link', 'add', outside, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
    if (on.bridge) await run('ip', ['-n', on.ns, 'link', 'set', outside, 'master', on.bridge]);
    await run('ip', ['-n', on.ns, 'link', 'set', outside, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', ifname]);
    await run('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
  }

  /** A bridge holding `gatewayCidr` (e.g. 10.40.1.1/24), for hosts whose daemon does not create one. */
  async addBridge(host: LabHost, bridge: string, gatewayCidr: string, mtu = 1500): Promise<void> {
    await run('ip', ['-n', host.ns, 'link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['-n', host.ns, 'addr', 'add', gatewayCidr, 'dev', bridge]);
    await run('ip', ['-n', host.ns, 'link', 'set', bridge, 'mtu', String(mtu), 'up']);
  }

  /** A container behind `bridge` on `host`, with address `cidr` and its default route via `gateway`. */
  async addContainer(host: LabHost, name: string, cidr: string, gateway: string, bridge: string, mtu?: number): Promise<LabContainer> {
    const ns = `${this.id}-${host.name}-${name}`;
    await this.addNamespace(ns);
    await run('ip', ['-n', host.ns, 'link', 'add', `c-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', host.ns, 'link', 'set', `c-${name}`, 'master', bridge, 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    if (mtu) await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'mtu', String(mtu)]);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway]);
    return { name, ns, ip: cidr.split('/')[0], host };
  }

  /** Gives a container an IPv6 address and default route too (dual stack); no duplicate address detection, so it is usable at once. */
  async addContainerIPv6(container: LabContainer, cidr: string, gateway: string): Promise<string> {
    await run('ip', ['-n', container.ns, 'addr', 'add', cidr, 'dev', 'eth0', 'nodad']);
    await run('ip', ['-n', container.ns, '-6', 'route', 'add', 'default', 'via', gateway]);
    return cidr.split('/')[0];
  }

  /** An empty network namespace (a container's sandbox before a CNI ADD); returns its name. */
  async addSandbox(name: string): Promise<string> {
    const ns = `${this.id}-${name}`;
    await this.addNamespace(ns);
    return ns;
  }

  /**
   * Gives a namespace its own resolv.conf: `ip netns exec` mounts
   * /etc/netns/<ns>/resolv.conf over /etc/resolv.conf. Removed at cleanup.
   */
  setResolver(ns: string, nameserver: string, search: string): void {
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${nameserver}\nsearch ${search}\noptions timeout:1 attempts:1\n`);
    this.resolverDirs.push(`/etc/netns/${ns}`);
  }

  /** Starts `tsoverlay launch ARGS` inside the host, with its own run dir and API socket; `command` runs another tsoverlay than this tree's. */
  async startDaemon(host: LabHost, args: string[], timeoutMs?: number, command?: string[]): Promise<LabDaemon> {
    const daemon = new LabDaemon(host, join(this.dir, host.name), args, command);
    this.daemons.push(daemon);
    await daemon.start(timeoutMs);
    return daemon;
  }

  /** A long-running helper process (a server, say) inside a namespace, ended at cleanup. */
  track(child: ChildProcess): ChildProcess {
    this.processes.push(child);
    return child;
  }

  /** Work to do at cleanup before daemons stop and namespaces go (stopping a dockerd, say); last added runs first. */
  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.unshift(fn);
  }

  exec(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    return inNamespace(ns, cmd, args, timeoutMs);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0)) await fn().catch((e: Error) => process.stderr.write(`lab cleanup: ${e.message}\n`));
    for (const d of this.daemons) await d.stop();
    for (const p of this.processes) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => {});
    this.namespaces.length = 0;
    for (const dir of this.resolverDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }

  /** Leaves everything running when this process exits (`demo --keep`). */
  detach(): void {
    process.off('exit', this.onExit);
    for (const d of this.daemons) d.detach();
    for (const p of this.processes) p.unref();
  }

  private cleanupSync(): void {
    for (const d of this.daemons) d.kill();
    for (const p of this.processes) if (p.exitCode === null && p.pid) p.kill('SIGKILL');
    for (const ns of this.namespaces) runSync('ip', ['netns', 'del', ns]);
    for (const dir of this.resolverDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async addNamespace(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

/** Removes namespaces left by labs whose process is gone (a crash, a kill -9). */
async function sweepStaleLabs(): Promise<void> {
  const list = await run('ip', ['netns', 'list']).catch(() => '');
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    const match = /^tsolab-(\d+)-/.exec(ns);
    if (match && !processAlive(Number(match[1]))) await run('ip', ['netns', 'del', ns]).catch(() => {});
  }
}
