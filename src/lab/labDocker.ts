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
const PLUGIN_DIR = '/run/docker/plugins';

export class LabDocker {
  private child: ChildProcess | null = null;
  private holder: ChildProcess | null = null;
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
    await this.startWith(opts);
    return opts;
  }

  /**
   * Starts dockerd with these options; with `pluginDir`, in a mount namespace
   * of its own where that directory is /run/docker/plugins (dockerd looks for
   * plugins there only, so each lab host's dockerd finds its own tsoverlay).
   * The namespace is held by a process of its own and outlives a dockerd
   * restart: the containers' network namespace mounts (under --exec-root) are
   * made in it, and a dockerd restored with --live-restore needs them.
   */
  async startWith(opts: string[], pluginDir?: string): Promise<void> {
    mkdirSync(this.root, { recursive: true });
    const mountNs = pluginDir === undefined ? [] : [`--mount=/proc/${await this.holdMountNamespace(pluginDir)}/ns/mnt`];
    // nsenter, not `ip netns exec`: the latter remounts /sys and dockerd then finds no devices cgroup.
    const args = [
      ...mountNs, `--net=/var/run/netns/${this.host.ns}`, 'dockerd', '--data-root', join(this.root, 'data'), '--exec-root', join(this.root, 'exec'),
      '-H', `unix://${this.socket}`, '--pidfile', join(this.root, 'docker.pid'), '--storage-driver=vfs', '--iptables=false', '--ip6tables=false', ...opts,
    ];
    this.output = '';
    const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}:\n${this.output.slice(-3000)}`);
      if (await this.docker('version').then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`dockerd not ready after 60 s:\n${this.output.slice(-3000)}`);
  }

  /** The pid of the process holding the mount namespace with `pluginDir` on /run/docker/plugins. */
  private async holdMountNamespace(pluginDir: string): Promise<number> {
    if (this.holder && this.holder.exitCode === null) return this.holder.pid!;
    mkdirSync(pluginDir, { recursive: true });
    mkdirSync(PLUGIN_DIR, { recursive: true });
    const holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" ${PLUGIN_DIR} && echo ready && exec sleep infinity`, pluginDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.holder = holder;
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`mount namespace for dockerd: exited with ${code}`)));
    });
    return holder.pid!;
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

  /** Stops dockerd alone: with --live-restore its containers keep running. */
  async stopDaemon(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Removes the containers and networks, stops dockerd (and its containerd), and unmounts what it leaves. */
  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const ids = (await this.docker('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
      if (ids.length) await this.docker('rm', '-f', ...ids).catch(() => '');
      const networks = (await this.docker('network', 'ls', '-q', '--filter', 'driver=tsoverlay').catch(() => '')).split('\n').filter(Boolean);
      if (networks.length) await this.docker('network', 'rm', ...networks).catch(() => '');
      await this.stopDaemon();
      await run('umount', [join(this.root, 'exec', 'netns', 'default')]).catch(() => '');
    }
    // The namespace's own mounts go with it.
    this.holder?.kill('SIGKILL');
    if (this.child) await run('rm', ['-rf', this.root]).catch(() => '');
  }
}
