// Two lab hosts joined by wireguard-go (userspace WireGuard: Debian's package,
// or another build given by path, such as the newest one in ../shared/anchors),
// a container behind each: the encrypted userspace reference for the bench.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SUBNETS = ['10.40.1.0/24', '10.40.2.0/24'];
const PORT = 51820;
const MTU = 1420; // wg-quick's default on a 1500-byte underlay

export async function wireguardPair(lab, binary = 'wireguard-go') {
  const hosts = [await lab.addHost('a'), await lab.addHost('b')];
  const keys = [];
  for (let i = 0; i < 2; i++) {
    const privateKey = (await lab.exec(hosts[i].ns, 'wg', ['genkey'])).trim();
    const file = join(lab.dir, `wg-${i}.key`);
    writeFileSync(file, privateKey + '\n', { mode: 0o600 });
    const publicKey = (await run(lab, hosts[i].ns, 'wg', ['pubkey'], privateKey)).trim();
    keys.push({ file, publicKey });
  }
  const containers = [];
  for (let i = 0; i < 2; i++) {
    const j = 1 - i;
    const ns = hosts[i].ns;
    // wg finds the daemon by a socket named after the interface in /var/run/wireguard: one name each.
    const wg = `tsowg-${process.pid % 100000}-${i}`.slice(0, 15);
    // Foreground (-f), so the lab ends it with the other processes it tracks.
    lab.track(spawn('ip', ['netns', 'exec', ns, binary, '-f', wg], { stdio: 'ignore', env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' } }));
    await waitForLink(lab, ns, wg);
    await lab.exec(ns, 'wg', ['set', wg, 'private-key', keys[i].file, 'listen-port', String(PORT), 'peer', keys[j].publicKey, 'endpoint', `${hosts[j].ip}:${PORT}`, 'allowed-ips', SUBNETS[j]]);
    await lab.exec(ns, 'ip', ['link', 'set', wg, 'mtu', String(MTU), 'up']);
    await lab.exec(ns, 'ip', ['route', 'add', SUBNETS[j], 'dev', wg]);
    await lab.exec(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const gateway = SUBNETS[i].replace(/0\/24$/, '1');
    await lab.addBridge(hosts[i], 'tsobr', `${gateway}/24`, MTU);
    containers.push(await lab.addContainer(hosts[i], 'c1', `${gateway.replace(/1$/, '2')}/24`, gateway, 'tsobr', MTU));
  }
  return { a: containers[0], b: containers[1], daemons: [] };
}

async function waitForLink(lab, ns, name) {
  for (let i = 0; i < 100; i++) {
    if (await lab.exec(ns, 'ip', ['link', 'show', name]).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`wireguard-go did not create ${name}`);
}

function run(lab, ns, cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
    child.stdin.end(input);
  });
}
