// Random and mutated datagrams at a running daemon's data port, from a peer's
// address, while a transfer runs: the daemon stays up, the transfer completes,
// the garbage is dropped and counted, memory stays flat.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import { Lab } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { addMeshContainer, meshArgs, type MeshSide } from '../../src/lab/meshHosts.js';
import { parseMac } from '../../src/net/mac.js';
import { transfer } from '../helpers/traffic.js';

const FUZZ = fileURLToPath(new URL('../helpers/udpFuzz.mjs', import.meta.url));
const CONTROL_FUZZ = fileURLToPath(new URL('../helpers/controlFuzz.mjs', import.meta.url));
const STREAMS = 10_000;
const COUNT = 1_000_000;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('live fuzz at the vxlan data port', () => {
  let lab: Lab;
  let net: TwoHosts;

  beforeAll(async () => {
    lab = await Lab.create();
    net = await twoHosts(lab, 'vxlan');
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it(`takes ${COUNT.toLocaleString('en')} random and mutated datagrams from a peer during a 30 MB transfer`, async () => {
    const pid = net.a.daemon!.pid!;
    // Warm up first, so the RSS compared is the steady one.
    await transfer(lab, net.b.container, net.a.container, 10 << 20, 5002);
    const rssBefore = rssMb(pid);
    const before = await net.a.daemon!.status();
    const inner = Buffer.alloc(60);
    inner[0] = 0x45;
    inner.writeUInt16BE(60, 2);
    Buffer.from([10, 40, 2, 2, 10, 40, 1, 2]).copy(inner, 12);
    const seed = encodeVxlan({ vni: 1, dstMac: parseMac(net.a.vtepMac), srcMac: parseMac(net.b.vtepMac), etherType: 0x0800 }, inner);

    const [fuzz, moved] = await Promise.all([
      lab.exec(net.b.host.ns, process.execPath, [FUZZ, net.a.host.ip, '8472', String(COUNT), seed.toString('hex')], 90_000),
      transfer(lab, net.b.container, net.a.container, 30 << 20),
    ]);
    expect(moved.received).toEqual(moved.sent);
    expect(JSON.parse(fuzz).sent).toBe(COUNT);
    await new Promise((r) => setTimeout(r, 500));

    const after = await net.a.daemon!.status();
    const dropped = Object.values(after.counters.drops).reduce((a, b) => a + b, 0) - Object.values(before.counters.drops).reduce((a, b) => a + b, 0);
    // Some mutations stay valid (a changed payload byte) and are delivered; the receive
    // buffer may also overflow under the flood (the kernel counts those, not us).
    expect(dropped).toBeGreaterThan(COUNT * 0.5);
    expect(after.counters.drops.bad_header + after.counters.drops.wrong_vni + after.counters.drops.wrong_mac).toBeGreaterThan(before.counters.drops.bad_header);
    expect(rssMb(pid) - rssBefore).toBeLessThan(30);
    process.stdout.write(`live fuzz: ${COUNT} sent, ${dropped} dropped and counted, ${after.counters.rx.packets - before.counters.rx.packets} delivered, RSS ${rssBefore.toFixed(1)} -> ${rssMb(pid).toFixed(1)} MB\n`);
  }, 180_000);
});

describe('live fuzz at the control port', () => {
  let lab: Lab;
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const [a, b, x] = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('x')];
    const daemons = await Promise.all([lab.startDaemon(a, meshArgs(a, [], ['--backend', 'vxlan']), 30_000), lab.startDaemon(b, meshArgs(b, [a], ['--backend', 'vxlan']), 30_000)]);
    sides = [await addMeshContainer(lab, a, daemons[0]), await addMeshContainer(lab, b, daemons[1])];
    sides.push({ ...sides[0], host: x });
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it(`takes ${STREAMS.toLocaleString('en')} mutated control streams during a transfer; its peer connection, memory and descriptors hold`, async () => {
    const [a, b, { host: x }] = sides;
    const pid = a.daemon.pid!;
    await transfer(lab, b.container, a.container, 5 << 20, 5003);
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const [rssBefore, fdsBefore] = [rssMb(pid), fds()];
    const [fuzz, moved] = await Promise.all([
      lab.exec(x.ns, process.execPath, [CONTROL_FUZZ, a.host.ip, '6783', String(STREAMS)], 120_000),
      transfer(lab, b.container, a.container, 20 << 20),
    ]);
    expect(JSON.parse(fuzz).streams).toBe(STREAMS);
    expect(moved.received).toEqual(moved.sent);
    await new Promise((r) => setTimeout(r, 1500));
    const status = await a.daemon.status();
    expect(status.mesh!.connections.map((c) => c.name)).toEqual(['b']);
    expect(status.mesh!.refusedConnections).toBeGreaterThan(STREAMS * 0.5);
    // A stream that was a valid hello joined for 200 ms: the ghost it told of is never reachable.
    expect(status.mesh!.peers.find((p) => p.name === 'ghost')?.reachable ?? false).toBe(false);
    // With V8's defaults the heap grows under connection churn: 59 -> 114 -> 146 -> 149 ->
    // 162 MB over four rounds of 10,000 streams. Not a leak: with --max-old-space-size=40
    // --max-semi-space-size=2 the same four rounds stay at 85-86 MB. This bound catches a
    // gross leak; capping the heap is for the data path speed issue (its RSS goal).
    expect(rssMb(pid) - rssBefore).toBeLessThan(150);
    expect(fds() - fdsBefore).toBeLessThan(10);
    process.stdout.write(`control fuzz: ${STREAMS} streams, ${status.mesh!.refusedConnections} refused, RSS ${rssBefore.toFixed(1)} -> ${rssMb(pid).toFixed(1)} MB, fds ${fdsBefore} -> ${fds()}\n`);
  }, 180_000);
});
