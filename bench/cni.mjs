#!/usr/bin/env node
// What the CNI plugin costs a container start: the median ADD+DEL through
// the tsoverlay plugin beside the same ADD+DEL calling the reference bridge
// plugin directly with the config the plugin rendered, in the same run,
// alternating. Node's own start and exit, started the way the plugin is
// (`env -u NODE_EXTRA_CA_CERTS node -e 0`), is measured beside them: what is
// left over is the plugin's own work.
//   node bench/cni.mjs [--rounds 30]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../dist/lab/lab.js';
import { CNI_PLUGIN_BIN, REFERENCE_PLUGINS } from '../dist/lab/labPodman.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg('rounds', 30));

const lab = await Lab.create();
try {
  const host = await lab.addHost('h');
  const daemon = await lab.startDaemon(host, ['--backend', 'udp', '--network', '10.94.0.0/16', '--subnet', '10.94.1.0/24', '--public-ip', host.ip, '--bridge', 'tsobr']);
  const dataDir = join(lab.dir, 'cni-data');
  const config = { cniVersion: '1.0.0', name: 'tsonet', type: 'tsoverlay', runDir: daemon.runDir, dataDir, delegate: { ipam: { dataDir: join(lab.dir, 'ipam') } } };
  // A runtime's environment, not this shell's.
  const baseEnv = { PATH: process.env.PATH, CNI_PATH: REFERENCE_PLUGINS, CNI_IFNAME: 'eth0' };
  const call = (program, command, input, id, ns, args = '') => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('nsenter', [`--net=/var/run/netns/${host.ns}`, program], {
      input: JSON.stringify(input), encoding: 'utf8',
      env: { ...baseEnv, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${ns}`, CNI_ARGS: args },
    });
    if (r.status !== 0) throw new Error(`${program} ${command}: ${r.stdout} ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const addDel = (program, input, id, ns, args) => call(program, 'ADD', input, id, ns, args) + call(program, 'DEL', input, id, ns, args);

  // The rendered delegate config, as the plugin keeps it.
  const probe = await lab.addSandbox('probe');
  call(CNI_PLUGIN_BIN, 'ADD', config, 'probe', probe);
  const stored = JSON.parse(readFileSync(join(dataDir, 'tsonet', readdirSync(join(dataDir, 'tsonet'))[0]), 'utf8'));
  call(CNI_PLUGIN_BIN, 'DEL', config, 'probe', probe);
  const bridge = join(REFERENCE_PLUGINS, 'bridge');

  const times = { bridge: [], plugin: [], named: [], node: [] };
  for (let i = 0; i < rounds; i++) {
    const ns = await lab.addSandbox(`s${i}`);
    times.bridge.push(addDel(bridge, stored.delegate, `b${i}`, ns));
    times.plugin.push(addDel(CNI_PLUGIN_BIN, config, `p${i}`, ns));
    times.named.push(addDel(CNI_PLUGIN_BIN, config, `n${i}`, ns, `IgnoreUnknown=1;K8S_POD_NAME=web${i}`));
    const t0 = process.hrtime.bigint();
    spawnSync('nsenter', [`--net=/var/run/netns/${host.ns}`, '/usr/bin/env', '-u', 'NODE_EXTRA_CA_CERTS', 'node', '-e', '0'], { env: baseEnv });
    times.node.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ref = median(times.bridge);
  const row = (label, xs) => `| ${label} | ${median(xs).toFixed(1)} | ${(median(xs) - ref).toFixed(1)} |`;
  console.log(`CNI ADD+DEL, median of ${rounds} rounds, each call through nsenter into the host's namespace.\n`);
  console.log('| call | ms | ms over bridge |');
  console.log('| --- | --- | --- |');
  console.log(row('bridge + host-local, directly (reference)', times.bridge));
  console.log(row('tsoverlay plugin → bridge + host-local', times.plugin));
  console.log(row('tsoverlay plugin, with a DNS name (K8S_POD_NAME)', times.named));
  const node = median(times.node);
  console.log(`\nNode starting and exiting, as the plugin is started (node -e 0): ${node.toFixed(1)} ms; ADD+DEL starts the plugin twice,`);
  console.log(`so the plugin's own work is ≈ ${(median(times.plugin) - ref - 2 * node).toFixed(1)} ms per ADD+DEL (${(median(times.named) - ref - 2 * node).toFixed(1)} ms with a name).`);
} finally {
  await lab.cleanup();
}
