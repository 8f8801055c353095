// A real flanneld (the reference in ../shared/anchors) inside a lab host: the
// peer that tells whether tsoverlay really speaks flannel's formats.
// flanneld v0.14.1 speaks etcd's v2 API only (etcd runs with --enable-v2).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { LabHost } from './labHost.js';
import type { LabEtcd } from './labEtcd.js';

export const FLANNELD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'anchors', 'flanneld-v0.14.1');

export class LabFlannel {
  private output = '';
  readonly subnetFile: string;

  constructor(private readonly lab: Lab, readonly host: LabHost, private readonly etcd: LabEtcd) {
    this.subnetFile = join(lab.dir, `flannel-${host.name}.env`);
  }

  get log(): string {
    return this.output;
  }

  /** Starts flanneld on the host's eth0 and waits for the subnet file it writes once it has a lease. */
  async start(timeoutMs = 30_000): Promise<Record<string, string>> {
    const args = ['netns', 'exec', this.host.ns, FLANNELD, `-etcd-endpoints=${this.etcd.endpoint}`, '-etcd-prefix=/coreos.com/network', '-iface=eth0', `-subnet-file=${this.subnetFile}`, '-ip-masq=false'];
    const child = this.lab.track(spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`flanneld exited with ${child.exitCode}:\n${this.output.slice(-2000)}`);
      if (existsSync(this.subnetFile)) {
        const env = this.subnetEnv();
        if (env.FLANNEL_SUBNET) return env;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`flanneld wrote no subnet file in ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
  }

  /** flanneld's subnet.env as name → value. */
  subnetEnv(): Record<string, string> {
    return Object.fromEntries(readFileSync(this.subnetFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }
}
