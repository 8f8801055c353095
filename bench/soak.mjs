#!/usr/bin/env node
// Soak: mixed traffic through a 3-host line a-b-c (encrypted sleeve, b relays)
// for a while; every 30 s each daemon's RSS, heap, open descriptors and
// active timers are sampled and printed. Exits 1 if any of them grew after
// the warm-up: memory by more than 10 MB, descriptors or timers by more than 3.
//   node bench/soak.mjs [--seconds 600] [--backend sleeve] [--no-password]
// Needs root, iperf3, dig, and a built tree (scripts/setup).
import { spawn } from 'node:child_process';
import { Lab } from '../dist/lab/lab.js';
import { onlyLinks, startMesh } from '../dist/lab/meshHosts.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const seconds = Number(arg('seconds', 600));
const backend = arg('backend', 'sleeve');
const password = process.argv.includes('--no-password') ? [] : ['--password', 'soak'];
const SAMPLE_MS = 30_000;
const WARM_UP_MS = 60_000;

const lab = await Lab.create();
try {
  const hosts = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('c')];
  await onlyLinks(lab, hosts, ['a-b', 'b-c']);
  const sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[i - 1]] : []), ['--backend', backend, ...password]);
  const [a, b, c] = sides;
  const bg = (ns, cmd, args) => lab.track(spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' }));
  // TCP at full speed a -> c through the relay, 64-byte UDP c -> a at 20,000 pkt/s, pings b <-> c.
  bg(c.container.ns, 'iperf3', ['-s', '-p', '5201']);
  bg(a.container.ns, 'iperf3', ['-s', '-p', '5202']);
  await new Promise((r) => setTimeout(r, 500));
  bg(a.container.ns, 'iperf3', ['-c', c.container.ip, '-p', '5201', '-t', String(seconds + 5)]);
  bg(c.container.ns, 'iperf3', ['-c', a.container.ip, '-p', '5202', '-u', '-b', '10M', '-l', '64', '-t', String(seconds + 5)]);
  bg(b.container.ns, 'ping', ['-q', '-i', '0.01', '-w', String(seconds + 5), c.container.ip]);
  // DNS: a record added and removed every 10 s, a name looked up every second.
  let dnsTurn = 0;
  const dnsTimer = setInterval(() => {
    const name = `soak${dnsTurn++ % 5}`;
    void a.daemon.status().then(() => lab.exec(a.host.ns, process.execPath, [new URL('../bin/tsoverlay', import.meta.url).pathname, 'dns-add', a.container.ip, name, '--api', a.daemon.apiSocket]).catch(() => ''));
  }, 10_000);
  const digTimer = setInterval(() => void lab.exec(c.container.ns, 'dig', [`@${c.subnet.replace(/0\/\d+$/, '1')}`, '+short', '+time=1', 'soak0.weave.local']).catch(() => ''), 1000);

  const samples = [];
  const started = Date.now();
  process.stderr.write(`soak: ${seconds} s of mixed traffic through a-b-c (${backend}${password.length ? ', encrypted' : ''})\n`);
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, seconds * 1000 - (Date.now() - started))));
    const at = Math.round((Date.now() - started) / 1000);
    const row = { at };
    for (const side of sides) {
      const s = await side.daemon.status();
      row[side.host.name] = { rss: s.process.rssMb, heap: s.process.heapUsedMb, fds: s.process.fds, timers: s.process.resources.Timeout ?? 0, relayed: s.counters.relayed, rx: s.counters.rx.packets };
    }
    samples.push(row);
    process.stderr.write(`  ${at} s: ${sides.map((x) => `${x.host.name} rss ${row[x.host.name].rss} MB heap ${row[x.host.name].heap} fds ${row[x.host.name].fds} timers ${row[x.host.name].timers}`).join(' | ')}\n`);
  }
  clearInterval(dnsTimer);
  clearInterval(digTimer);

  const header = ['t (s)', ...sides.flatMap((x) => [`${x.host.name} RSS MB`, `${x.host.name} heap MB`, `${x.host.name} fds`, `${x.host.name} timers`]), 'b relayed packets'];
  const lines = [header, header.map(() => '---'), ...samples.map((r) => [r.at, ...sides.flatMap((x) => [r[x.host.name].rss, r[x.host.name].heap, r[x.host.name].fds, r[x.host.name].timers]), r.b.relayed])];
  process.stdout.write(lines.map((l) => `| ${l.join(' | ')} |`).join('\n') + '\n');

  const warm = samples.find((s) => s.at * 1000 >= WARM_UP_MS) ?? samples[0];
  const last = samples[samples.length - 1];
  const growth = sides.map((x) => ({
    host: x.host.name,
    rss: last[x.host.name].rss - warm[x.host.name].rss,
    fds: last[x.host.name].fds - warm[x.host.name].fds,
    timers: last[x.host.name].timers - warm[x.host.name].timers,
    peakRss: Math.max(...samples.map((s) => s[x.host.name].rss)),
  }));
  const flat = growth.every((g) => g.rss <= 10 && g.fds <= 3 && g.timers <= 3);
  process.stdout.write(`after warm-up (${warm.at} s -> ${last.at} s): ${growth.map((g) => `${g.host} RSS ${g.rss >= 0 ? '+' : ''}${g.rss.toFixed(1)} MB (peak ${g.peakRss} MB), fds ${g.fds >= 0 ? '+' : ''}${g.fds}, timers ${g.timers >= 0 ? '+' : ''}${g.timers}`).join('; ')}: ${flat ? 'flat' : 'GROWING'}\n`);
  process.exitCode = flat ? 0 : 1;
} finally {
  await lab.cleanup();
}
