// A real CNI runtime inside a lab host: podman with its CNI network backend,
// run in the host's network namespace (nsenter: under `ip netns exec` runc
// finds no cgroup mount), with its own storage, its own CNI config dir
// holding the tsoverlay conflist, and a plugin dir where `tsoverlay` links to
// this tree's plugin beside Debian's reference plugins. The image is a
// busybox-static rootfs (`podman import`: nothing can be pulled).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxRootfs, LAB_IMAGE } from './busyboxImage.js';
import type { Lab, LabContainer, LabHost } from './lab.js';
import { run } from './shell.js';

export const CNI_PLUGIN_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tsoverlay-cni.cjs');
export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const CNI_NETWORK = 'tsonet';

export class LabPodman {
  readonly root: string;
  readonly pluginDir: string;
  readonly configDir: string;
  /** The plugin's data dir and host-local's, inside the lab. */
  readonly dataDir: string;
  readonly ipamDir: string;
  private readonly containers = new Set<string>();

  constructor(lab: Lab, readonly host: LabHost, readonly runDir: string) {
    this.root = join(lab.dir, `podman-${host.name}`);
    this.pluginDir = join(this.root, 'cni-bin');
    this.configDir = join(this.root, 'cni-conf');
    this.dataDir = join(this.root, 'cni-data');
    this.ipamDir = join(this.root, 'ipam');
    lab.onCleanup(() => this.stop());
  }

  /** The plugin's part of the conflist, as a user writes it (lab paths aside). */
  pluginConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { type: 'tsoverlay', runDir: this.runDir, dataDir: this.dataDir, delegate: { ipam: { dataDir: this.ipamDir } }, ...extra };
  }

  async start(extra: Record<string, unknown> = {}): Promise<void> {
    mkdirSync(this.pluginDir, { recursive: true });
    mkdirSync(this.configDir, { recursive: true });
    symlinkSync(CNI_PLUGIN_BIN, join(this.pluginDir, 'tsoverlay'));
    writeFileSync(join(this.configDir, '10-tsoverlay.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: CNI_NETWORK,
      plugins: [this.pluginConfig(extra), { type: 'portmap', capabilities: { portMappings: true } }],
    }));
    writeFileSync(join(this.root, 'containers.conf'), [
      '[network]', 'network_backend = "cni"', `cni_plugin_dirs = ["${this.pluginDir}", "${REFERENCE_PLUGINS}"]`,
      '[engine]', 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', '',
    ].join('\n'));
    await this.podman('import', await busyboxRootfs(this.root), LAB_IMAGE);
  }

  podman(...args: string[]): Promise<string> {
    return run('nsenter', [
      `--net=/var/run/netns/${this.host.ns}`, 'env', `CONTAINERS_CONF=${join(this.root, 'containers.conf')}`,
      'podman', '--network-backend', 'cni', '--cni-config-dir', this.configDir,
      '--root', join(this.root, 'storage'), '--runroot', join(this.root, 'run'), '--storage-driver', 'vfs', ...args,
    ], 120_000);
  }

  /** Runs a container on the tsoverlay network; it is a LabContainer for the traffic helpers. */
  async run(name: string, ...command: string[]): Promise<LabContainer> {
    this.containers.add(name);
    await this.podman('run', '-d', '--name', name, '--network', CNI_NETWORK, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', LAB_IMAGE, ...(command.length ? command : ['sleep', '3600']));
    const [ip, sandbox] = (await this.podman('inspect', '-f', `{{.NetworkSettings.Networks.${CNI_NETWORK}.IPAddress}} {{.NetworkSettings.SandboxKey}}`, name)).trim().split(' ');
    return { name, ns: basename(sandbox), ip, host: this.host };
  }

  async remove(name: string): Promise<void> {
    await this.podman('rm', '-f', '-t', '0', name);
    this.containers.delete(name);
  }

  async stop(): Promise<void> {
    for (const name of [...this.containers]) await this.remove(name).catch(() => {});
  }
}
