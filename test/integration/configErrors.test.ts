// Configuration and start-up errors: non-zero exit, one clear line naming the problem.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { launchOutcome } from '../helpers/failedLaunch.js';

describe('launch refuses a bad configuration with one clear line', () => {
  let lab: Lab;
  let host: LabHost;
  let runDir: string;

  beforeAll(async () => {
    lab = await Lab.create();
    host = await lab.addHost('a');
    runDir = mkdtempSync(join(tmpdir(), 'tsolab-run-'));
    chmodSync(runDir, 0o777);
  });
  afterAll(async () => {
    await lab?.cleanup();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  const launch = (args: string[], prefix: string[] = []) =>
    launchOutcome(lab, host, ['--run-dir', runDir, '--api', join(runDir, 'api.sock'), ...args], prefix, 15_000);

  const base = (over: Record<string, string> = {}) => {
    const flags: Record<string, string> = { backend: 'udp', network: '10.40.0.0/16', subnet: '10.40.1.0/24', 'public-ip': host.ip, ...over };
    return Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
  };

  const cases: [string, () => string[], RegExp][] = [
    ['a bad CIDR', () => base({ network: '10.40.0.0/33' }), /--network: bad prefix length/],
    ['host bits in a CIDR', () => base({ subnet: '10.40.1.7/24' }), /--subnet: 10\.40\.1\.7\/24 has host bits set/],
    ['a subnet outside the network', () => base({ subnet: '10.50.1.0/24' }), /--subnet 10\.50\.1\.0\/24 is not inside --network 10\.40\.0\.0\/16/],
    ['an unknown backend', () => base({ backend: 'carrier-pigeon' }), /unknown backend "carrier-pigeon" \(choose udp or vxlan or sleeve\)/],
    ['a vxlan route without a VTEP MAC', () => [...base({ backend: 'vxlan' }), '--route', '10.40.2.0/24=10.201.0.2'], /needs the peer's VTEP MAC/],
    ['a route overlapping the own subnet', () => [...base(), '--route', '10.40.1.0/25=10.201.0.2'], /overlaps this host's subnet/],
    ['a public IP this host does not have', () => base({ 'public-ip': '10.201.0.77' }), /no interface on this host has the public IP 10\.201\.0\.77/],
    ['an unknown option', () => [...base(), '--frobnicate', '1'], /unknown option --frobnicate/],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const { code, stderr } = await launch(args());
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('a TUN it is not permitted to create', async () => {
    const { code, stderr } = await launch(base(), ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/cannot open TUN tso0: (open \/dev\/net\/tun: Permission denied|TUNSETIFF: Operation not permitted)$/m);
  });

  it('a UDP port in use', async () => {
    const holder = lab.track(spawn('ip', ['netns', 'exec', host.ns, process.execPath, '-e', "require('dgram').createSocket('udp4').bind(8285, () => console.log('bound'))"], { stdio: ['ignore', 'pipe', 'ignore'] }));
    await new Promise((resolve) => holder.stdout!.once('data', resolve));
    const { code, stderr } = await launch(base());
    holder.kill('SIGKILL');
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/cannot bind UDP 0\.0\.0\.0:8285: bind: Address already in use/);
  });
});
