#!/usr/bin/env node
// IPv6 beside IPv4 through each path, in the same run on the same dual-stack
// namespaces: single-stream TCP (iperf3) to the container's IPv4 address and
// to its IPv6 address, interleaved, with a kernel VXLAN pair carrying both
// (over the IPv4 underlay) as the reference; then each again over an IPv6
// underlay (the hosts' fd99:: addresses, the kernel device as flannel-v6.1).
//   node bench/ipv6.mjs [--seconds 10] [--rounds 2] [--only a,b] [--daemon-args=--no-offload] [--no-underlay6]
// Needs root, iperf3 and a built tree (scripts/setup).
import { spawn } from 'node:child_process';
import { Lab } from '../dist/lab/lab.js';
import { twoHosts } from '../dist/lab/twoHosts.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const seconds = Number(arg('seconds', 10));
const rounds = Number(arg('rounds', 2));
const only = arg('only', null)?.split(',');
const daemonArgs = (process.argv.find((a) => a.startsWith('--daemon-args='))?.slice(14) ?? '').split(' ').filter(Boolean);
const overlays = ['kernel-vxlan', 'udp', 'vxlan', 'sleeve'].filter((p) => !only || only.includes(p));
const paths = [...overlays.map((o) => ({ name: o, overlay: o, underlay6: false })),
  ...(process.argv.includes('--no-underlay6') ? [] : overlays.map((o) => ({ name: `${o}, IPv6 underlay`, overlay: o, underlay6: true })))];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure({ overlay, underlay6 }) {
  const lab = await Lab.create();
  try {
    const net = await twoHosts(lab, overlay, overlay, { ipv6: true, underlay6, extraArgs: overlay === 'kernel-vxlan' ? [] : daemonArgs });
    const { a, b } = { a: net.a.container, b: net.b.container };
    const server = lab.track(spawn('ip', ['netns', 'exec', b.ns, 'iperf3', '-s'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    const tcp = async (address) => {
      const out = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', address, '-t', String(seconds), '-J'], (seconds + 30) * 1000));
      return { gbits: out.end.sum_received.bits_per_second / 1e9, retransmits: out.end.sum_sent.retransmits ?? 0 };
    };
    const v4 = [];
    const v6 = [];
    for (let r = 0; r < rounds; r++) {
      v4.push(await tcp(b.ip));
      v6.push(await tcp(net.b.container6));
    }
    server.kill('SIGKILL');
    const drops = net.a.daemon ? (await net.a.daemon.status()).counters.drops : null;
    return { v4: median(v4.map((x) => x.gbits)), v6: median(v6.map((x) => x.gbits)), retransmits6: median(v6.map((x) => x.retransmits)), drops };
  } finally {
    await lab.cleanup();
  }
}

const results = {};
for (const path of paths) {
  results[path.name] = { ...(await measure(path)), underlay6: path.underlay6 };
  process.stderr.write(`${path.name}: ${JSON.stringify(results[path.name])}\n`);
}
console.log(`Single-stream TCP, iperf3 ${seconds} s, median of ${rounds} interleaved rounds per family; Gbit/s.\n`);
console.log('| path | IPv4 | IPv6 | IPv6 / IPv4 | IPv6 x kernel VXLAN IPv6 | IPv6 retransmits |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [path, r] of Object.entries(results)) {
  // Each against the kernel pair on the same underlay family.
  const kernel = results[r.underlay6 ? 'kernel-vxlan, IPv6 underlay' : 'kernel-vxlan'];
  console.log(`| ${path} | ${r.v4.toFixed(2)} | ${r.v6.toFixed(2)} | ${(r.v6 / r.v4).toFixed(2)} | ${kernel ? (r.v6 / kernel.v6).toFixed(2) : '-'} | ${r.retransmits6} |`);
}
