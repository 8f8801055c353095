// A real etcd (Debian's etcd-server) inside a lab host, for the etcd-mode tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './shell.js';
import type { Lab, LabHost } from './lab.js';

/** Files for an etcd that serves HTTPS and asks clients for certificates. */
export interface EtcdTlsFiles {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

export class LabEtcd {
  private child: ChildProcess | null = null;
  private output = '';
  /** `root:PASSWORD` once authentication is on: etcdctl then signs in as root. */
  private root: string | null = null;
  readonly endpoint: string;
  private readonly dataDir: string;

  constructor(
    private readonly lab: Lab,
    readonly host: LabHost,
    readonly tls: EtcdTlsFiles | null = null,
    /** Serve etcd's v2 API as well (--enable-v2), for flanneld releases that speak no other (v0.14.1). */
    readonly v2 = false,
    /** More of etcd's flags (--auth-token-ttl, say). */
    private readonly extraArgs: string[] = [],
  ) {
    this.endpoint = `${tls ? 'https' : 'http'}://${host.ip}:2379`;
    this.dataDir = join(lab.dir, 'etcd-data');
  }

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const scheme = this.tls ? 'https' : 'http';
    const tlsArgs = this.tls ? ['--cert-file', this.tls.cert, '--key-file', this.tls.key, '--trusted-ca-file', this.tls.ca, '--client-cert-auth'] : [];
    const args = [
      'netns', 'exec', this.host.ns, 'etcd', '--name', 'lab', '--data-dir', this.dataDir, ...tlsArgs,
      '--listen-client-urls', `${scheme}://${this.host.ip}:2379,${scheme}://127.0.0.1:2379`, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380', ...(this.v2 ? ['--enable-v2'] : []), ...this.extraArgs,
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

  /** etcdctl against the v2 keyspace (flanneld v0.14.1's), from inside its host. */
  ctl2(...args: string[]): Promise<string> {
    return this.lab.exec(this.host.ns, 'env', ['ETCDCTL_API=2', 'etcdctl', '--endpoints', 'http://127.0.0.1:2379', ...args], 20_000);
  }

  /** etcdctl (v3 API) against this etcd, from inside its host. */
  ctl(...args: string[]): Promise<string> {
    const tls = this.tls ? ['--cacert', this.tls.ca, '--cert', this.tls.clientCert, '--key', this.tls.clientKey] : [];
    const user = this.root ? ['--user', this.root] : [];
    return this.lab.exec(this.host.ns, 'env', ['ETCDCTL_API=3', 'etcdctl', '--endpoints', `${this.tls ? 'https' : 'http'}://127.0.0.1:2379`, ...tls, ...user, ...args], 20_000);
  }

  /** Turns authentication on, with a user that may read and write under `prefix` only. */
  async enableAuth(user: string, password: string, prefix: string): Promise<void> {
    await this.ctl('user', 'add', 'root:root-secret');
    await this.ctl('role', 'add', 'tsoverlay');
    await this.ctl('role', 'grant-permission', 'tsoverlay', '--prefix=true', 'readwrite', prefix);
    await this.ctl('user', 'add', `${user}:${password}`);
    await this.ctl('user', 'grant-role', user, 'tsoverlay');
    await this.ctl('auth', 'enable');
    this.root = 'root:root-secret';
  }
}

/** A throw-away CA, a server certificate for `serverIp` (and 127.0.0.1), and a client certificate. */
export async function makeEtcdTls(dir: string, serverIp: string): Promise<EtcdTlsFiles> {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => run('openssl', args);
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=tsolab-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  for (const [name, cn, ext] of [
    // clientAuth too: etcd's JSON gateway dials its own gRPC server with the server certificate.
    ['server', 'tsolab-etcd', `subjectAltName=IP:${serverIp},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth`],
    ['client', 'tsolab-client', 'extendedKeyUsage=clientAuth'],
  ]) {
    writeFileSync(f(`${name}.ext`), ext + '\n');
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    await ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`));
  }
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}
