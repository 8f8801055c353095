#!/usr/bin/env node
// DNS queries per second and mean latency, measured by dnsperf: tsoverlay's
// server answering a weave.local name (A and AAAA) beside Debian's dnsmasq
// answering the same name (--address=/NAME/IP) in the same run, from the same
// namespace; and a name tsoverlay forwards to an upstream dnsmasq.
//   node bench/dns.mjs [--seconds 10] [--clients 4] [--rounds 2]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../dist/lab/lab.js';
import { TSOVERLAY_BIN } from '../dist/lab/labDaemon.js';
import { addMeshContainer, meshArgs } from '../dist/lab/meshHosts.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const seconds = Number(arg('seconds', 10));
const clients = Number(arg('clients', 4));
const rounds = Number(arg('rounds', 2));
const NAME = 'web.weave.local';
const V6 = 'fd00:db8::10';
const REF_PORT = 5300;

const lab = await Lab.create();
try {
  const host = await lab.addHost('a');
  const upstream = await lab.addHost('up');
  const dnsmasq = (ns, listen, port, records) => {
    const child = lab.track(spawn('ip', ['netns', 'exec', ns, 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--user=root',
      `--listen-address=${listen}`, '--bind-interfaces', `--port=${port}`, '--log-facility=/dev/null', ...records.map((r) => `--address=/${r}`)],
      { stdio: ['ignore', 'ignore', 'inherit'] }));
    return new Promise((resolve) => setTimeout(resolve, 500, child));
  };
  await dnsmasq(upstream.ns, upstream.ip, 53, ['example.org/192.0.2.7']);
  const resolvConf = join(lab.dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${upstream.ip}\n`);
  const daemon = await lab.startDaemon(host, meshArgs(host, [], ['--resolv-conf', resolvConf]), 30_000);
  const side = await addMeshContainer(lab, host, daemon);
  for (const ip of [side.container.ip, V6]) {
    await lab.exec(host.ns, process.execPath, [TSOVERLAY_BIN, 'dns-add', ip, 'web', '--api', daemon.apiSocket]);
  }
  await dnsmasq(host.ns, host.ip, REF_PORT, [`${NAME}/${side.container.ip}`, `${NAME}/${V6}`]);
  const gateway = side.subnet.replace(/0\/24$/, '1');

  const perf = async (server, port, name, type) => {
    const data = join(lab.dir, `q-${type}`);
    writeFileSync(data, `${name} ${type}\n`);
    const out = await lab.exec(host.ns, 'dnsperf', ['-s', server, '-p', String(port), '-d', data, '-c', String(clients), '-l', String(seconds)], (seconds + 30) * 1000);
    const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
    const latency = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1]) * 1000;
    const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1]);
    if (!Number.isFinite(qps) || !Number.isFinite(latency)) throw new Error(`dnsperf said:\n${out}`);
    return { qps, latency, lost };
  };
  const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  const rows = [];
  for (const type of ['A', 'AAAA']) {
    const ref = [];
    const ours = [];
    for (let r = 0; r < rounds; r++) { // interleaved, so that a busy moment hits both
      ref.push(await perf(host.ip, REF_PORT, NAME, type));
      ours.push(await perf(gateway, 53, NAME, type));
    }
    const summary = (runs) => ({ qps: median(runs.map((x) => x.qps)), latency: median(runs.map((x) => x.latency)), lost: runs.reduce((n, x) => n + x.lost, 0) });
    const [a, b] = [summary(ref), summary(ours)];
    rows.push([`dnsmasq, ${NAME} ${type} (reference)`, a, a]);
    rows.push([`tsoverlay, ${NAME} ${type}`, b, a]);
  }
  const fwd = await perf(gateway, 53, 'example.org', 'A');
  const direct = await perf(upstream.ip, 53, 'example.org', 'A');
  rows.push(['dnsmasq upstream, example.org A, direct (reference)', direct, direct]);
  rows.push(['tsoverlay, example.org A, forwarded to it', fwd, direct]);

  console.log(`dnsperf, ${clients} clients, ${seconds} s per run, median of ${rounds} interleaved runs; from the host's namespace.\n`);
  console.log('| server | queries/s | x reference | mean latency ms | x reference | lost |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [label, r, ref] of rows) {
    console.log(`| ${label} | ${Math.round(r.qps).toLocaleString('en')} | ${(r.qps / ref.qps).toFixed(2)} | ${r.latency.toFixed(2)} | ${(r.latency / ref.latency).toFixed(2)} | ${r.lost} |`);
  }
} finally {
  await lab.cleanup();
}
