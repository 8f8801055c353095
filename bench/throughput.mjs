#!/usr/bin/env node
// Throughput and packet rate through tsoverlay (udp, vxlan, sleeve plain and
// encrypted) beside a kernel VXLAN pair and wireguard-go (Debian's, and the newest
// from ../shared/anchors when it is there) on the same kind of
// namespaces, in the same run, printed as ratios to the kernel.
//   node bench/throughput.mjs [--seconds 10] [--udp-seconds 5] [--rounds 1] [--only a,b] [--daemon-args=--no-offload] [--markdown FILE]
// With --rounds N every path is measured N times, the paths taking turns, and
// each figure is the median over the rounds, a ratio the median of the
// ratios to the kernel pair of the same round: on a shared machine the
// kernel's own figure moves by a fifth from one minute to the next.
// Needs root, iperf3, wireguard-go, wg, and a built tree (scripts/setup).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab } from '../dist/lab/lab.js';
import { twoHosts } from '../dist/lab/twoHosts.js';
import { startMesh } from '../dist/lab/meshHosts.js';
import { wireguardPair } from './wireguardPair.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const tcpSeconds = Number(arg('seconds', 10));
const udpSeconds = Number(arg('udp-seconds', 5));
const markdownFile = arg('markdown', null);
const only = arg('only', null)?.split(',');
const rounds = Number(arg('rounds', 1));
/** More `launch` flags for every tsoverlay daemon, e.g. --daemon-args=--no-offload to measure without offloads. */
const daemonArgs = (arg('daemon-args', null) ?? process.argv.find((a) => a.startsWith('--daemon-args='))?.slice(14) ?? '').split(' ').filter(Boolean);

const NEWEST_WIREGUARD = fileURLToPath(new URL('../../shared/anchors/wireguard-go-0.0.20250522', import.meta.url));

/** Each path: two hosts with a container behind each; `daemons` are the tsoverlay processes, if any. */
const setups = {
  'kernel-vxlan': (lab) => twoHosts(lab, 'kernel-vxlan', 'kernel-vxlan').then(withDaemons),
  udp: (lab) => twoHosts(lab, 'udp', 'udp', { extraArgs: daemonArgs }).then(withDaemons),
  vxlan: (lab) => twoHosts(lab, 'vxlan', 'vxlan', { extraArgs: daemonArgs }).then(withDaemons),
  sleeve: (lab) => twoHosts(lab, 'sleeve', 'sleeve', { extraArgs: daemonArgs }).then(withDaemons),
  'sleeve+NaCl': async (lab) => {
    const hosts = [await lab.addHost('a'), await lab.addHost('b')];
    const [a, b] = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []), ['--password', 'bench', ...daemonArgs]);
    return { a: a.container, b: b.container, daemons: [a.daemon, b.daemon] };
  },
  'wireguard-go': (lab) => wireguardPair(lab),
  // The newest wireguard-go (TUN and UDP GSO/GRO), when the reference binaries are beside the project.
  ...(existsSync(NEWEST_WIREGUARD) ? { 'wireguard-go-new': (lab) => wireguardPair(lab, NEWEST_WIREGUARD) } : {}),
};
if (!setups['wireguard-go-new']) process.stderr.write(`bench: ${NEWEST_WIREGUARD} is absent: no row for the newest wireguard-go\n`);
/** Row names other than `tsoverlay <mode>`. */
const LABELS = {
  'kernel-vxlan': 'kernel VXLAN (reference)',
  'wireguard-go': 'wireguard-go (Debian 0.0.20220316)',
  'wireguard-go-new': 'wireguard-go 0.0.20250522 (GSO/GRO)',
};
function withDaemons({ a, b }) {
  return { a: a.container, b: b.container, daemons: [a.daemon, b.daemon].filter(Boolean) };
}

const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux
/** [user, system] CPU seconds of a process. */
const cpuTimes = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(fields[11]) / TICKS, Number(fields[12]) / TICKS];
};

/** Busy and total CPU ticks of the whole machine (/proc/stat: all but idle and iowait). */
const machineTicks = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((x, y) => x + y, 0);
  return { busy: total - f[3] - f[4], total };
};

/** Resident memory of a process, MB. */
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/** sockperf ping-pong, 64-byte messages: the median one-way latency (half a round trip), µs. */
async function sockperfP50(lab, a, b) {
  const server = lab.track(spawn('ip', ['netns', 'exec', b.ns, 'sockperf', 'server', '-i', b.ip, '-p', '11111'], { stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 500));
  const out = await lab.exec(a.ns, 'sockperf', ['ping-pong', '-i', b.ip, '-p', '11111', '-t', String(udpSeconds), '--msg-size', '64'], (udpSeconds + 30) * 1000);
  server.kill('SIGKILL');
  return Number(/percentile 50\.000 =\s*([\d.]+)/.exec(out)[1]);
}

async function measure(overlay) {
  const lab = await Lab.create();
  try {
    const { a, b, daemons } = await setups[overlay](lab);
    const server = lab.track(spawn('ip', ['netns', 'exec', b.ns, 'iperf3', '-s'], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    const pids = daemons.map((d) => d.pid);
    const cpuBefore = pids.map(cpuTimes);
    const packetsBefore = daemons.length ? (await daemons[0].status()).counters.tx.packets : 0;

    const machineBefore = machineTicks();
    const tcp = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', b.ip, '-t', String(tcpSeconds), '-J'], (tcpSeconds + 30) * 1000));
    const machineAfter = machineTicks();
    const busyTicks = machineAfter.busy - machineBefore.busy;
    const cpuAfter = pids.map(cpuTimes);
    const packets = daemons.length ? (await daemons[0].status()).counters.tx.packets - packetsBefore : 0;

    const tcp4 = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', b.ip, '-P', '4', '-t', String(tcpSeconds), '-J'], (tcpSeconds + 30) * 1000));
    // QUIC-like: 1,400-byte datagrams as fast as the sender can.
    const udpBulk = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', b.ip, '-u', '-b', '0', '-l', '1400', '-t', String(udpSeconds), '-J'], (udpSeconds + 30) * 1000));
    const udp = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', b.ip, '-u', '-b', '0', '-l', '64', '-t', String(udpSeconds), '-J'], (udpSeconds + 30) * 1000));
    // 50,000 packets/s offered: 64 B × 8 × 50,000 = 25.6 Mbit/s.
    // Of what the paced run loses, how much the kernel dropped before a daemon read it: at the sender's TUN queue, at the receiver's data socket.
    const kernelDrops = async () => (daemons.length ? [(await daemons[0].status()).tunQueueDrops ?? 0, (await daemons[1].status()).dataSocketDrops ?? 0] : [0, 0]);
    const dropsBefore = await kernelDrops();
    const paced = JSON.parse(await lab.exec(a.ns, 'iperf3', ['-c', b.ip, '-u', '-b', '25.6M', '-l', '64', '-t', String(udpSeconds), '-J'], (udpSeconds + 30) * 1000));
    const dropsAfter = await kernelDrops();
    server.kill('SIGKILL');
    const pingPong = await sockperfP50(lab, a, b);
    const rss = pids.map(rssMb);
    const u = udp.end.sum;
    return {
      pacedLoss: paced.end.sum.lost_percent,
      pacedLost: paced.end.sum.lost_packets,
      pacedKernelDrops: daemons.length ? dropsAfter.map((d, k) => d - dropsBefore[k]) : null,
      latency: pingPong,
      rss,
      overlay,
      gbps: tcp.end.sum_received.bits_per_second / 1e9,
      gbps4: tcp4.end.sum_received.bits_per_second / 1e9,
      udpGbps: udpBulk.end.sum.bits_per_second * (1 - udpBulk.end.sum.lost_percent / 100) / 1e9,
      // Whole-machine busy CPU-seconds per Gbit carried in the single-stream run: the kernel's own work counts too.
      cpuPerGbit: (busyTicks / TICKS) / ((tcp.end.sum_received.bytes * 8) / 1e9),
      busy: busyTicks / (machineAfter.total - machineBefore.total),
      rtt: tcp.end.streams[0].sender.mean_rtt,
      retransmits: tcp.end.sum_sent.retransmits,
      pps: (u.packets - u.lost_packets) / u.seconds,
      udpLoss: u.lost_percent,
      // Sender-side daemon CPU (user, system) per packet it forwarded during the TCP run.
      usPerPacket: packets ? [0, 1].map((k) => ((cpuAfter[0][k] - cpuBefore[0][k]) / packets) * 1e6) : null,
      cpu: pids.length ? cpuAfter.map((c, i) => (c[0] + c[1] - cpuBefore[i][0] - cpuBefore[i][1]) / tcpSeconds) : null,
    };
  } finally {
    await lab.cleanup();
  }
}

const names = Object.keys(setups).filter((o) => o === 'kernel-vxlan' || !only || only.includes(o));
/** byRound[r][i]: path i's figures in round r, the kernel pair first. */
const byRound = [];
for (let round = 1; round <= rounds; round++) {
  const results = [];
  for (const overlay of names) {
    process.stderr.write(`bench: ${overlay}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}...\n`);
    results.push(await measure(overlay));
  }
  byRound.push(results);
}

/** The figures also printed as a ratio to the kernel pair of the same round. */
const RATIOS = ['gbps', 'cpuPerGbit', 'gbps4', 'udpGbps', 'pps', 'latency'];
/** One round's figures of a path, with its ratios to that round's kernel pair (`gbpsX`, ...). */
const figures = (r, ref) => {
  const { overlay, ...own } = r;
  return { ...own, ...Object.fromEntries(RATIOS.map((k) => [`${k}X`, r[k] / ref[k]])) };
};
const median = (xs) => {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** The median of each figure over the rounds; lists element by element. */
const medians = (all) =>
  Object.fromEntries(
    Object.keys(all[0]).map((key) => {
      const values = all.map((f) => f[key]);
      if (values[0] === null) return [key, null];
      if (Array.isArray(values[0])) return [key, values[0].map((_, k) => median(values.map((v) => v[k])))];
      return [key, median(values)];
    }),
  );
const summary = names.map((overlay, i) => ({ overlay, ...medians(byRound.map((results) => figures(results[i], results[0]))) }));

const rows = summary.map((r) => [
  LABELS[r.overlay] ?? `tsoverlay ${r.overlay}`,
  r.gbps.toFixed(2),
  r.gbpsX.toFixed(3),
  String(Math.round(r.retransmits)),
  String(Math.round(r.rtt)),
  (r.busy * 100).toFixed(0) + '%',
  r.cpuPerGbit.toFixed(3),
  r.cpuPerGbitX.toFixed(2),
  r.gbps4.toFixed(2),
  r.gbps4X.toFixed(3),
  r.udpGbps.toFixed(2),
  r.udpGbpsX.toFixed(3),
  Math.round(r.pps).toLocaleString('en'),
  r.ppsX.toFixed(2),
  r.pacedLoss.toFixed(2),
  r.pacedKernelDrops === null ? `${Math.round(r.pacedLost)}` : `${Math.round(r.pacedLost)}: ${r.pacedKernelDrops.map(Math.round).join(' / ')}`,
  r.latency.toFixed(1),
  r.latencyX.toFixed(2),
  r.usPerPacket === null ? '-' : r.usPerPacket.map((u) => u.toFixed(2)).join(' + '),
  r.cpu === null ? '-' : r.cpu.map((c) => `${Math.round(c * 100)}%`).join(' / '),
  r.rss.length ? r.rss.map((m) => m.toFixed(0)).join(' / ') : '-',
]);
const header = ['path', 'TCP Gbit/s', 'x kernel', 'retransmits', 'mean RTT µs', 'machine busy', 'CPU-s per Gbit', 'x kernel', 'TCP 4 streams Gbit/s', 'x kernel', '1400 B UDP Gbit/s delivered (-b 0)', 'x kernel', '64 B UDP pkt/s delivered (-b 0)', 'x kernel', 'loss % at 50k pkt/s', 'lost at 50k pkt/s (all: at the sender TUN queue / the receiver data socket)', 'sockperf p50 µs', 'x kernel', 'sender µs CPU/pkt (user + sys)', 'daemon CPU a / b', 'daemon RSS MB a / b'];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const text = `${rounds > 1 ? `Medians of ${rounds} rounds, the paths taking turns; ratios: the median of each round's ratio to that round's kernel pair. ` : ''}Single-stream TCP: iperf3 -t ${tcpSeconds} (RTT: iperf3's mean; busy and CPU-s per Gbit: the whole machine, /proc/stat, during it); 4 streams: iperf3 -P 4; bulk UDP: iperf3 -u -b 0 -l 1400 -t ${udpSeconds}, delivered; packet rate: iperf3 -u -b 0 -l 64 -t ${udpSeconds}; loss: iperf3 -u -b 25.6M -l 64 (50,000 pkt/s offered), and of what it lost how much the kernel dropped before a daemon read it (the sending daemon's tunQueueDrops, the receiving one's dataSocketDrops; the rest is lost past the receiving daemon, mostly at iperf3's own socket); latency: sockperf ping-pong --msg-size 64 -t ${udpSeconds} (p50 of half round trips); two hosts (network namespaces, veth underlay MTU 1500), a container behind each.\n\n${table}\n`;
process.stdout.write(text);
if (markdownFile) writeFileSync(markdownFile, text);
