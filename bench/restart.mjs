#!/usr/bin/env node
// Restarts during traffic: a 3-host line a-b-c (encrypted sleeve, b relays),
// a checksummed TCP transfer a -> c running throughout, and for each restart a
// paced UDP probe a -> c (1,000 datagrams/s) that counts what is lost. Each
// host in turn (the sender's, the relay, the receiver's) is restarted N
// times each way: stop + start (SIGTERM: the TUN is removed and made again),
// kill -9 + start at once (the TUN is persistent: it stays, the new process
// adopts it), and a successor started with --takeover (the old one hands
// over once the new one has loaded). Prints the datagrams lost per restart.
// --etcd: hosts a and c lease their subnets from etcd instead (vxlan unless
// --backend says otherwise; no relay, no password) and a reaches c directly.
//   node bench/restart.mjs [--restarts 5] [--backend sleeve] [--no-password] [--kinds stop,kill,takeover] [--hosts N] [--roles a,b,c] [--etcd]
// Needs root and a built tree (scripts/setup).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Lab } from '../dist/lab/lab.js';
import { onlyLinks, startMesh } from '../dist/lab/meshHosts.js';
import { addEtcdSide, startLabEtcd } from '../dist/lab/etcdHosts.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const restarts = Number(arg('restarts', 5));
const etcdMode = process.argv.includes('--etcd');
const backend = arg('backend', etcdMode ? 'vxlan' : 'sleeve');
/** --kinds takeover,kill: only these ways of restarting. */
const kindsWanted = arg('kinds', null)?.split(',');
const hostCount = Math.max(3, Number(arg('hosts', 3)));
/** --roles a,b: restart only these hosts. */
const roles = arg('roles', null)?.split(',');
const password = process.argv.includes('--no-password') || etcdMode ? [] : ['--password', 'restart'];
const PROBE = fileURLToPath(new URL('./pacedProbe.mjs', import.meta.url));
const TRANSFER = fileURLToPath(new URL('../test/helpers/transfer.mjs', import.meta.url));
const RATE = 1000;
const WINDOW_S = 5;

const lab = await Lab.create();
try {
  const sides = etcdMode ? await etcdSides() : await meshSides();
  const [a, c] = [sides[0], sides.at(-1)];
  const inNs = (ns, args, stdio = 'ignore') => lab.track(spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', stdio, 'inherit'] }));
  const output = (child) => {
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    return () => text;
  };
  const listening = async (child, out) => {
    while (!out().includes('listening')) {
      if (child.exitCode !== null) throw new Error('helper exited');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitForPath(a, c);

  const kinds = [
    ['stop + start', (side) => side.daemon.stop().then(() => side.daemon.start(40_000))],
    ['kill -9 + start', (side) => { side.daemon.kill(); return side.daemon.start(40_000); }],
    ['--takeover', (side) => side.daemon.start(40_000, true)],
  ];
  // Long enough to span every restart (it waits for the transfer to end).
  if (kindsWanted) kinds.splice(0, kinds.length, ...kinds.filter(([name]) => kindsWanted.some((k) => name.includes(k))));
  const restarted = (etcdMode ? [['sender\'s host (a)', a], ['receiver\'s host (c)', c]] : [['sender\'s host (a)', sides[0]], ['relay (b)', sides[1]], ['receiver\'s host (c)', sides[2]]])
    .filter(([, side]) => !roles || roles.includes(side.host.name));
  const totalS = restarts * kinds.length * restarted.length * (WINDOW_S + 3);
  // One TCP connection through it all: it must not reset, and its bytes must arrive whole.
  const server = inNs(c.container.ns, [TRANSFER, 'serve', '5001'], 'pipe');
  const serverOut = output(server);
  await listening(server, serverOut);
  const rateBytes = 1 << 20;
  const sender = inNs(a.container.ns, [TRANSFER, 'send', c.container.ip, '5001', String(rateBytes * totalS), String(rateBytes)], 'pipe');
  const senderOut = output(sender);

  const rows = [];
  for (const [role, side] of restarted) {
    for (const [kind, restart] of kinds) {
      const lost = [];
      for (let i = 0; i < restarts; i++) {
        const receiver = inNs(c.container.ns, [PROBE, 'receive', '7100', String(WINDOW_S + 1)], 'pipe');
        const got = output(receiver);
        await listening(receiver, got);
        const probe = inNs(a.container.ns, [PROBE, 'send', c.container.ip, '7100', String(RATE), String(WINDOW_S)]);
        await new Promise((r) => setTimeout(r, 1000));
        await restart(side);
        await once(probe, 'exit');
        if (receiver.exitCode === null) await once(receiver, 'exit');
        const r = JSON.parse(got().trim().split('\n').at(-1));
        // What never came: the gaps, and what was sent after the last one seen.
        lost.push(RATE * WINDOW_S - r.received);
        await waitForPath(a, c);
      }
      lost.sort((x, y) => x - y);
      rows.push({ role, kind, lost });
      process.stderr.write(`${role}, ${kind}: lost ${lost.join(', ')}\n`);
    }
  }
  if (sender.exitCode === null) await once(sender, 'exit');
  if (server.exitCode === null) await once(server, 'exit');
  const median = (xs) => xs[Math.floor(xs.length / 2)];
  console.log(`\nrestarts during traffic (${etcdMode ? '2 hosts, etcd mode' : `${hostCount} hosts`}, ${backend}${password.length ? ', encrypted' : ''}), UDP probe at ${RATE}/s: datagrams lost per restart (ms of outage)`);
  console.log('| host restarted | how | median | max | all |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.role} | ${r.kind} | ${median(r.lost)} | ${r.lost.at(-1)} | ${r.lost.join(' ')} |`);
  const sent = JSON.parse(senderOut().trim().split('\n').at(-1) || 'null');
  const received = JSON.parse(serverOut().trim().split('\n').at(-1) || 'null');
  const whole = sent && received && sent.sha256 === received.sha256 && sent.bytes === received.bytes;
  console.log(`\nTCP a -> c through every restart (${(rateBytes * totalS) >> 20} MB at 1 MB/s): ${whole ? `${received.bytes} bytes arrived, SHA-256 equal, the connection never reset` : `FAILED: sent ${JSON.stringify(sent)}, received ${JSON.stringify(received)} (sender exit ${sender.exitCode})`}`);
  if (!whole) process.exitCode = 1;
} finally {
  await lab.cleanup();
}

/** The mesh line a-b-c, and --hosts more peers that each reach every host (a restarted host re-keys with all of them). */
async function meshSides() {
  const hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
  for (let i = 3; i < hostCount; i++) hosts.push(await lab.addHost(`p${i}`));
  const extra = hosts.slice(3).map((h) => h.name);
  await onlyLinks(lab, hosts, ['a-b', 'b-c', ...extra.flatMap((p) => hosts.filter((h) => h.name !== p).map((h) => `${p}-${h.name}`))]);
  const sides = await startMesh(lab, hosts, (i) => (i === 0 ? [] : i < 3 ? [hosts[i - 1]] : [hosts[0]]), ['--backend', backend, ...password], 60_000);
  return sides.slice(0, 3);
}

/** a and c with subnets leased from etcd. */
async function etcdSides() {
  const etcd = await startLabEtcd(lab, { Network: '10.93.0.0/16', Backend: { Type: backend } });
  return [await addEtcdSide(lab, await lab.addHost('a'), etcd), await addEtcdSide(lab, await lab.addHost('c'), etcd)];
}

async function waitForPath(from, to) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await lab.exec(from.container.ns, 'ping', ['-c', '1', '-W', '1', to.container.ip]).then(() => true, () => false)) return;
  }
  throw new Error('no path a -> c');
}
