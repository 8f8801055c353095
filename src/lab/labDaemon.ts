// A tsoverlay daemon started as a real process inside a lab host.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiGet } from '../api/client.js';
import type { Status } from '../api/status.js';
import { DAEMON_NODE_FLAGS } from '../daemon/nodeFlags.js';
import type { LabHost } from './labHost.js';

export const TSOVERLAY_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tsoverlay');

export class LabDaemon {
  readonly apiSocket: string;
  private child: ChildProcess | null = null;
  /** The daemon writes to a file, not a pipe, so it can outlive this process (`demo --keep`). */
  private readonly logFile: string;
  private logStart = 0;

  constructor(
    readonly host: LabHost,
    readonly runDir: string,
    readonly args: string[],
    /** How tsoverlay is run: this tree's, or an installed one (`/usr/bin/tsoverlay`). */
    private command: string[] = [process.execPath, ...DAEMON_NODE_FLAGS, TSOVERLAY_BIN],
  ) {
    mkdirSync(runDir, { recursive: true });
    this.apiSocket = join(runDir, 'api.sock');
    this.logFile = join(runDir, 'daemon.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the daemon printed since this object first started it (its log). */
  get log(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(this.logStart);
    } catch {
      return '';
    }
  }

  /**
   * Starts the daemon; with `takeover`, a second one with --takeover while the
   * first runs (it hands over and exits), ready once the API answers from the new pid;
   * `command` runs another tsoverlay from now on (an upgrade).
   */
  async start(timeoutMs = 15_000, takeover = false, command?: string[]): Promise<void> {
    if (command) this.command = command;
    // One daemon per run dir: one still stopping (after a fatal event, say) would answer for the new one.
    if (!takeover) await this.exited(10_000);
    // Lab daemons forward DNS only to upstreams a test names: never to the machine's own resolvers.
    const resolvConf = join(this.runDir, 'resolv.conf');
    if (!this.args.includes('--resolv-conf') && !existsSync(resolvConf)) writeFileSync(resolvConf, '');
    const dnsArgs = this.args.includes('--resolv-conf') ? [] : ['--resolv-conf', resolvConf];
    const argv = ['netns', 'exec', this.host.ns, ...this.command, 'launch', '--run-dir', this.runDir, '--api', this.apiSocket, ...dnsArgs, ...this.args, ...(takeover ? ['--takeover'] : [])];
    if (this.child === null) this.logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const fd = openSync(this.logFile, 'a');
    const child = spawn('ip', argv, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`tsoverlay on ${this.host.name} exited with ${child.exitCode}:\n${this.log}`);
      // A takeover is done when the new process answers (`ip netns exec` execs: the child's pid is the daemon's).
      if (await this.status().then((st) => !takeover || st.process.pid === child.pid, () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`tsoverlay on ${this.host.name} not ready after ${timeoutMs} ms:\n${this.log}`);
  }

  status(): Promise<Status> {
    return apiGet({ kind: 'unix', path: this.apiSocket }, '/status') as Promise<Status>;
  }

  /** Waits for the last daemon started to exit by itself; SIGKILL after `ms`. */
  private async exited(ms: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  }

  /** SIGTERM, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await this.exited(5000);
  }

  /** Lets this process exit while the daemon runs on. */
  detach(): void {
    this.child?.unref();
  }

  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
