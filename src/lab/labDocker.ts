// A real dockerd inside a lab host, started the way the systemd drop-in
// starts it: with the --bip/--mtu/--ip-masq options from tsoverlay's docker.env.
// Images come from `docker import` of a busybox-static rootfs (nothing can be pulled).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabHost } from './lab.js';
import { busyboxRootfs, LAB_IMAGE } from './busyboxImage.js';
import { run } from './shell.js';

const DOCKER = '/usr/bin/docker';

export class LabDocker {
  private child: ChildProcess | null = null;
  private output = '';
  readonly socket: string;
  private readonly root: string;

  constructor(lab: Lab, readonly host: LabHost) {
    this.root = join(lab.dir, `docker-${host.name}`);
    this.socket = join(this.root, 'docker.sock');
    lab.onCleanup(() => this.stop());
  }

  get log(): string {
    return this.output;
  }

  /** Starts dockerd with DOCKER_OPTS from a docker.env file. */
  async start(dockerEnvFile: string): Promise<string[]> {
    const match = /^DOCKER_OPTS="(.*)"$/m.exec(readFileSync(dockerEnvFile, 'utf8'));
    if (!match) throw new Error(`no DOCKER_OPTS in ${dockerEnvFile}`);
    const opts = match[1].split(/\s+/).filter(Boolean);
    mkdirSync(this.root, { recursive: true });
    // nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then finds no devices cgroup.
    const args = [
      `--net=/var/run/netns/${this.host.ns}`, 'dockerd', '--data-root', join(this.root, 'data'), '--exec-root', join(this.root, 'exec'),
      '-H', `unix://${this.socket}`, '--pidfile', join(this.root, 'docker.pid'), '--storage-driver=vfs', '--iptables=false', '--ip6tables=false', ...opts,
    ];
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}:\n${this.output.slice(-3000)}`);
      if (await this.docker('version').then(() => true, () => false)) return opts;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`dockerd not ready after 60 s:\n${this.output.slice(-3000)}`);
  }

  docker(...args: string[]): Promise<string> {
    return run(DOCKER, ['-H', `unix://${this.socket}`, ...args], 120_000);
  }

  /** Imports a busybox-static rootfs as LAB_IMAGE. */
  async importImage(): Promise<void> {
    await this.docker('import', await busyboxRootfs(this.root), LAB_IMAGE);
  }

  async runContainer(name: string, ...command: string[]): Promise<string> {
    await this.docker('run', '-d', '--name', name, LAB_IMAGE, ...command);
    return (await this.docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', name)).trim();
  }

  exec(container: string, ...command: string[]): Promise<string> {
    return this.docker('exec', container, ...command);
  }

  /** Removes the containers, stops dockerd (and its containerd), and unmounts what it leaves. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const ids = (await this.docker('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
    if (ids.length) await this.docker('rm', '-f', ...ids).catch(() => '');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    await run('umount', [join(this.root, 'exec', 'netns', 'default')]).catch(() => '');
    await run('rm', ['-rf', this.root]).catch(() => '');
  }
}
