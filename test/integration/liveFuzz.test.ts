// Random and mutated datagrams at a running daemon's data ports (udp, vxlan,
// sleeve plain and sealed), from a peer's address, while a transfer runs: the daemon stays up, the transfer completes,
// the garbage is dropped and counted, memory stays flat.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeVxlan } from '../../src/dataplane/codecs/vxlanCodec.js';
import { Lab, type LabContainer, type LabHost } from '../../src/lab/lab.js';
import { twoHosts, type TwoHosts } from '../../src/lab/twoHosts.js';
import { addMeshContainer, meshArgs, type MeshSide, startMesh } from '../../src/lab/meshHosts.js';
import { parseMac } from '../../src/net/mac.js';
import { transfer } from '../helpers/traffic.js';
import { randomBytes } from 'node:crypto';
import type { Status } from '../../src/api/status.js';
import { KIND_PLAIN, KIND_SEALED, SLEEVE_DEFAULT_PORT } from '../../src/dataplane/sleeve/sleeveFormat.js';

const FUZZ = fileURLToPath(new URL('../helpers/udpFuzz.mjs', import.meta.url));
const CONTROL_FUZZ = fileURLToPath(new URL('../helpers/controlFuzz.mjs', import.meta.url));
const STREAMS = 10_000;
const COUNT = 1_000_000;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Two hosts of one kind, a container behind each, and what b sends to a's data port. */
interface FuzzTarget {
  a: { pid: number; status(): Promise<Status>; host: LabHost; container: LabContainer };
  b: { host: LabHost; container: LabContainer };
  port: number;
  /** A valid datagram from b to a's container, to mutate. */
  seed: Buffer;
}

/** An IPv4 packet from b's container to a's. */
function innerPacket(from: string, to: string): Buffer {
  const inner = Buffer.alloc(60);
  inner[0] = 0x45;
  inner.writeUInt16BE(60, 2);
  inner[9] = 17;
  Buffer.from([...from.split('.').map(Number), ...to.split('.').map(Number)]).copy(inner, 12);
  return inner;
}

async function staticPair(lab: Lab, backend: 'udp' | 'vxlan' | 'sleeve'): Promise<FuzzTarget> {
  const net: TwoHosts = await twoHosts(lab, backend);
  const inner = innerPacket(net.b.container.ip, net.a.container.ip);
  const seed =
    backend === 'vxlan' ? encodeVxlan({ vni: 1, dstMac: parseMac(net.a.vtepMac), srcMac: parseMac(net.b.vtepMac), etherType: 0x0800 }, inner)
    : backend === 'sleeve' ? Buffer.concat([Buffer.from([KIND_PLAIN, 0, 0, 0, 0, inner.length]), inner, Buffer.from([0, inner.length]), inner])
    : inner;
  const d = net.a.daemon!;
  return { a: { pid: d.pid!, status: () => d.status(), host: net.a.host, container: net.a.container }, b: net.b, port: { udp: 8285, vxlan: 8472, sleeve: SLEEVE_DEFAULT_PORT }[backend], seed };
}

async function encryptedPair(lab: Lab): Promise<FuzzTarget> {
  const hosts = [await lab.addHost('a'), await lab.addHost('b')];
  const [a, b] = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []), ['--password', 'fuzz']);
  // Shaped like a sealed datagram of this pair: the right kind and epoch, a fresh counter, a MAC that cannot match.
  const seed = Buffer.concat([Buffer.from([KIND_SEALED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0]), randomBytes(16), randomBytes(62)]);
  return { a: { pid: a.daemon.pid!, status: () => a.daemon.status(), host: a.host, container: a.container }, b, port: SLEEVE_DEFAULT_PORT, seed };
}

const dataPorts: [string, (lab: Lab) => Promise<FuzzTarget>][] = [
  ['vxlan', (lab) => staticPair(lab, 'vxlan')],
  ['udp', (lab) => staticPair(lab, 'udp')],
  ['sleeve', (lab) => staticPair(lab, 'sleeve')],
  ['sleeve, encrypted', encryptedPair],
];

describe.each(dataPorts)('live fuzz at the %s data port', (_name, setUp) => {
  let lab: Lab;
  let t: FuzzTarget;

  beforeAll(async () => {
    lab = await Lab.create();
    t = await setUp(lab);
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it(`takes ${COUNT.toLocaleString('en')} random and mutated datagrams from a peer during a 30 MB transfer`, async () => {
    // Warm up first, so the RSS compared is the steady one.
    await transfer(lab, t.b.container, t.a.container, 10 << 20, 5002);
    const rssBefore = rssMb(t.a.pid);
    const before = await t.a.status();
    const [fuzz, moved] = await Promise.all([
      lab.exec(t.b.host.ns, process.execPath, [FUZZ, t.a.host.ip, String(t.port), String(COUNT), t.seed.toString('hex')], 90_000),
      transfer(lab, t.b.container, t.a.container, 30 << 20),
    ]);
    expect(moved.received).toEqual(moved.sent);
    expect(JSON.parse(fuzz).sent).toBe(COUNT);
    await new Promise((r) => setTimeout(r, 500));

    const after = await t.a.status();
    const total = (s: Status) => Object.values(s.counters.drops).reduce((x, y) => x + y, 0);
    const dropped = total(after) - total(before);
    // Some mutations stay valid (a changed payload byte) and are delivered; the receive
    // buffer may also overflow under the flood (the kernel counts those, not us).
    expect(dropped).toBeGreaterThan(COUNT * 0.3);
    expect(rssMb(t.a.pid) - rssBefore).toBeLessThan(30);
    process.stdout.write(`live fuzz (${_name}): ${COUNT} sent, ${dropped} dropped and counted (${Object.entries(after.counters.drops).filter(([k, v]) => v > before.counters.drops[k as keyof typeof before.counters.drops]).map(([k]) => k).join(', ')}), ${after.counters.rx.packets - before.counters.rx.packets} delivered, RSS ${rssBefore.toFixed(1)} -> ${rssMb(t.a.pid).toFixed(1)} MB\n`);
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
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 100);
    const [fuzz, moved] = await Promise.all([
      lab.exec(x.ns, process.execPath, [CONTROL_FUZZ, a.host.ip, '6783', String(STREAMS)], 120_000),
      transfer(lab, b.container, a.container, 20 << 20),
    ]).finally(() => clearInterval(sampler));
    expect(JSON.parse(fuzz).streams).toBe(STREAMS);
    expect(moved.received).toEqual(moved.sent);
    await new Promise((r) => setTimeout(r, 1500));
    const status = await a.daemon.status();
    expect(status.mesh!.connections.map((c) => c.name)).toEqual(['b']);
    // Each stream the daemon took is refused or, when its mutations left a valid hello, joins and
    // leaves; how many reach it at all depends on the machine's load (a busy one drops SYNs, the
    // fuzzer hangs up after 200 ms). What holds whatever the load: refusals counted, none invented.
    expect(status.mesh!.refusedConnections).toBeGreaterThan(0);
    expect(status.mesh!.refusedConnections).toBeLessThanOrEqual(STREAMS);
    // A stream that was a valid hello joined for 200 ms: the ghost it told of is never reachable.
    expect(status.mesh!.peers.find((p) => p.name === 'ghost')?.reachable ?? false).toBe(false);
    // The live heap stays ≈ 10 MB; what grows is garbage V8 has not collected yet. With the daemon's
    // options (daemon/nodeFlags.ts: 1 MB semi-spaces, a heap that favours size) 64 -> 71-73 MB; with
    // V8's defaults 104. A closed connection held until its 1 s destroy timer took it to 85-88.
    expect(rssPeak - rssBefore).toBeLessThan(20);
    expect(fds() - fdsBefore).toBeLessThan(10);
    process.stdout.write(`control fuzz: ${STREAMS} streams, ${status.mesh!.refusedConnections} refused, RSS ${rssBefore.toFixed(1)} -> ${rssMb(pid).toFixed(1)} MB, peak ${rssPeak.toFixed(1)} (heap used ${status.process.heapUsedMb} MB), fds ${fdsBefore} -> ${fds()}\n`);
  }, 180_000);
});
