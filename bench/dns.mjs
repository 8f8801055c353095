#!/usr/bin/env node
// DNS queries per second and latency through tsoverlay's server, answered
// locally (weave.local) and forwarded upstream, beside a minimal Node UDP
// DNS responder (the stub upstream, queried directly) in the same run.
//   node bench/dns.mjs [--seconds 5] [--concurrency 16]
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../dist/lab/lab.js';
import { TSOVERLAY_BIN } from '../dist/lab/labDaemon.js';
import { addMeshContainer, meshArgs } from '../dist/lab/meshHosts.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const seconds = Number(arg('seconds', 5));
const concurrency = Number(arg('concurrency', 16));
const LOAD = fileURLToPath(new URL('./dnsLoad.mjs', import.meta.url));
const STUB = fileURLToPath(new URL('../test/helpers/dnsStub.mjs', import.meta.url));

const lab = await Lab.create();
try {
  const host = await lab.addHost('a');
  const upstream = await lab.addHost('up');
  const stub = lab.track(spawn('ip', ['netns', 'exec', upstream.ns, process.execPath, STUB, upstream.ip], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await new Promise((resolve) => stub.stdout.once('data', resolve));
  const resolvConf = join(lab.dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${upstream.ip}\n`);
  const daemon = await lab.startDaemon(host, meshArgs(host, [], ['--resolv-conf', resolvConf]), 30_000);
  const side = await addMeshContainer(lab, host, daemon);
  await lab.exec(host.ns, process.execPath, [TSOVERLAY_BIN, 'dns-add', side.container.ip, 'web', '--api', daemon.apiSocket]);
  const gateway = side.subnet.replace(/0\/24$/, '1');
  // From host a itself, so that the reference (the responder across the underlay) is reachable without NAT.
  const load = async (server, name) => JSON.parse(await lab.exec(host.ns, process.execPath, [LOAD, server, name, String(seconds), String(concurrency)], (seconds + 30) * 1000));
  const reference = await load(upstream.ip, 'example.org');
  const local = await load(gateway, 'web.weave.local');
  const forwarded = await load(gateway, 'example.org');
  const row = (label, r) => `| ${label} | ${Math.round(r.qps).toLocaleString('en')} | ${(r.qps / reference.qps).toFixed(2)} | ${Math.round(r.p50)} | ${Math.round(r.p99)} | ${r.timeouts} |`;
  console.log(`DNS over UDP from the host, ${concurrency} queries in flight, ${seconds} s each; the responder is a host on the underlay.\n`);
  console.log('| server | queries/s | x reference | p50 µs | p99 µs | timeouts |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('minimal Node responder, direct (reference)', reference));
  console.log(row('tsoverlay, weave.local answered locally', local));
  console.log(row('tsoverlay, forwarded to the responder', forwarded));
} finally {
  await lab.cleanup();
}
