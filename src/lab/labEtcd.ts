// A real etcd (Debian's etcd-server) inside a lab host, for the etcd-mode tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Lab, LabHost } from './lab.js';

export class LabEtcd {
  private child: ChildProcess | null = null;
  private output = '';
  readonly endpoint: string;
  private readonly dataDir: string;

  constructor(private readonly lab: Lab, readonly host: LabHost) {
    this.endpoint = `http://${host.ip}:2379`;
    this.dataDir = join(lab.dir, 'etcd-data');
  }

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const args = [
      'netns', 'exec', this.host.ns, 'etcd', '--name', 'lab', '--data-dir', this.dataDir,
      '--listen-client-urls', `http://${this.host.ip}:2379,http://127.0.0.1:2379`, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380',
    ];
    const child = this.lab.track(spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${this.output.slice(-2000)}`);
      if (await this.ctl('endpoint', 'health').then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`etcd not healthy after 20 s:\n${this.output.slice(-2000)}`);
  }

  /** Stops etcd abruptly (SIGKILL); its data stays for a restart. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** etcdctl (v3 API) against this etcd, from inside its host. */
  ctl(...args: string[]): Promise<string> {
    return this.lab.exec(this.host.ns, 'env', ['ETCDCTL_API=3', 'etcdctl', '--endpoints', 'http://127.0.0.1:2379', ...args], 20_000);
  }
}
