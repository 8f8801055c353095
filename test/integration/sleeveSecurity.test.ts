// The encrypted sleeve against an attacker on the underlay: what a capture
// shows, peers without the password, replayed, altered and forged datagrams,
// a lossy reordering path, and packets too big for the path.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPost } from '../../src/api/client.js';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { meshArgs, type MeshSide, startMesh } from '../../src/lab/meshHosts.js';
import { PROBE_BYTES, PROBE_FIRST_BYTE } from '../../src/dataplane/probeDatagram.js';
import { SLEEVE_DEFAULT_PORT } from '../../src/dataplane/sleeve/sleeveFormat.js';
import { capture, udpDatagrams } from '../helpers/capture.js';
import { impairUnderlay } from '../helpers/impair.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer, udpMarkers } from '../helpers/traffic.js';

const SPOOF_TOOL = fileURLToPath(new URL('../helpers/spoofDatagrams.py', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const MB = 1 << 20;

/**
 * Sends raw datagrams to a peer's sleeve port from `intruder`, forged to come
 * from `posingAs`'s data socket: its address and port, which is what the
 * sealed path keys a neighbour by.
 */
async function inject(lab: Lab, intruder: LabHost, posingAs: LabHost, to: LabHost, datagrams: Buffer[]): Promise<void> {
  const file = join(lab.dir, `inject-${Date.now()}.hex`);
  writeFileSync(file, datagrams.map((d) => d.toString('hex')).join('\n') + '\n');
  await lab.exec(intruder.ns, 'python3', [SPOOF_TOOL, posingAs.ip, String(SLEEVE_DEFAULT_PORT), to.ip, String(SLEEVE_DEFAULT_PORT), file]);
}

describe('an encrypted sleeve mesh of two hosts, and intruders', () => {
  let lab: Lab;
  let hosts: LabHost[];
  let a: MeshSide;
  let b: MeshSide;

  beforeAll(async () => {
    lab = await Lab.create();
    hosts = [];
    for (const n of ['a', 'b', 'c', 'd']) hosts.push(await lab.addHost(n));
    [a, b] = await startMesh(lab, hosts.slice(0, 2), (i) => (i > 0 ? [hosts[0]] : []), ['--password', PASSWORD]);
    expect(await ping(lab, a.container, b.container.ip)).toMatch(/3 received/);
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('never shows a marker sent through the overlay in a capture of the underlay', async () => {
    const cap = await capture(lab, a.host, `udp port ${SLEEVE_DEFAULT_PORT}`, 'marker');
    const marker = 'MARKER-7f3a9c-the-overlay-payload';
    const got = await udpMarkers(lab, a.container, b.container, Array.from({ length: 20 }, () => marker));
    await cap.stop();
    expect(got.length).toBeGreaterThan(15); // it did cross the overlay
    // Besides the sealed datagrams, only the UDP path's probes cross (32 bytes: magic, id, counter, tag).
    const all = udpDatagrams(cap.file);
    const datagrams = all.filter((d) => d.payload[0] !== PROBE_FIRST_BYTE);
    expect(datagrams.length).toBeGreaterThanOrEqual(got.length);
    for (const d of datagrams) {
      expect(d.payload[0]).toBe(0x12); // sealed
      expect(d.payload.includes(Buffer.from('MARKER'))).toBe(false);
    }
    for (const p of all.filter((d) => d.payload[0] === PROBE_FIRST_BYTE)) expect(p.payload.length).toBe(PROBE_BYTES);
  });

  it('counts a replayed, a bit-flipped and a forged datagram as drops, and delivers none of them', async () => {
    const cap = await capture(lab, a.host, `udp and src host ${b.host.ip} and dst port ${SLEEVE_DEFAULT_PORT}`, 'replay');
    const first = await udpMarkers(lab, b.container, a.container, ['once-only']);
    await cap.stop();
    expect(first).toEqual(['once-only']);
    const original = udpDatagrams(cap.file).find((d) => d.payload.length > 60)!;
    expect(original).toBeDefined();
    // Altered copies under fresh counters, so only the MAC can tell: a bit of the
    // ciphertext flipped, a bit of the MAC flipped, and the counter alone changed.
    const altered = [original.payload.length - 3, 20, -1].map((at, i) => {
      const copy = Buffer.from(original.payload);
      copy.writeUInt32BE(0x10000 + i, 12);
      if (at >= 0) copy[at] ^= 0x10;
      return copy;
    });
    const before = (await a.daemon.status()).counters.drops;
    const listened = udpMarkers(lab, b.container, a.container, [], 2500);
    await new Promise((r) => setTimeout(r, 300));
    await inject(lab, hosts[3], b.host, a.host, [original.payload, original.payload, ...altered]);
    expect(await listened).toEqual([]);
    const after = (await a.daemon.status()).counters.drops;
    expect(after.replay - before.replay).toBe(2);
    expect(after.bad_seal - before.bad_seal).toBe(3);
  });

  it('drops plain sleeve datagrams from a peer address: keys are required', async () => {
    const before = (await a.daemon.status()).counters.drops;
    const inner = Buffer.alloc(28);
    inner[0] = 0x45;
    inner.writeUInt16BE(28, 2);
    inner[9] = 17;
    Buffer.from(b.container.ip.split('.').map(Number)).copy(inner, 12);
    Buffer.from(a.container.ip.split('.').map(Number)).copy(inner, 16);
    const plain = Buffer.concat([Buffer.from([0x11, 0, 0, 0, 0, 28]), inner]);
    await inject(lab, hosts[3], b.host, a.host, [plain, plain, plain]);
    const after = (await a.daemon.status()).counters.drops;
    expect(after.bad_header - before.bad_header).toBe(3);
  });

  it('refuses a peer with a wrong password and one with none, logging why on both sides', async () => {
    const c = await lab.startDaemon(hosts[2], meshArgs(hosts[2], [], ['--password', 'not the password']));
    const d = await lab.startDaemon(hosts[3], meshArgs(hosts[3], []));
    await apiPost({ kind: 'unix', path: c.apiSocket }, '/connect', { peer: hosts[0].ip });
    await apiPost({ kind: 'unix', path: d.apiSocket }, '/connect', { peer: hosts[0].ip });
    await eventually(async () => {
      expect(c.log).toMatch(/wrong password/);
      expect(a.daemon.log).toMatch(/wrong password/);
      expect(d.log).toMatch(/uses a password, and this peer has none|has no password/);
      expect(a.daemon.log).toMatch(/peer d has no password/);
      expect((await c.status()).mesh!.targets[0]).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/password/) });
    }, 15_000);
    const sa = await a.daemon.status();
    expect(sa.mesh!.connections.map((x) => x.name)).toEqual(['b']);
    expect(sa.mesh!.peers.map((p) => p.name)).toEqual(['b']); // learned nothing from them
    expect(sa.mesh!.refusedConnections).toBeGreaterThanOrEqual(2);
    const sc = await c.status();
    expect(sc.mesh!.connections).toEqual([]);
    expect(sc.routes).toEqual([]);
    expect(c.log).not.toContain(PASSWORD);
    expect(a.daemon.log).not.toContain(PASSWORD);
  });

  it('keeps the password out of the process title and the status', async () => {
    const cmdline = await lab.exec(a.host.ns, 'cat', [`/proc/${await daemonPid(lab, a)}/cmdline`]);
    expect(cmdline).not.toContain(PASSWORD);
    expect(JSON.stringify(await a.daemon.status())).not.toContain(PASSWORD);
  });

  it('moves 20 MB intact over an underlay with 5 % loss and reordering', async () => {
    const impaired = await impairUnderlay(lab, a.host, SLEEVE_DEFAULT_PORT, { lossPercent: 5, reorderPercent: 25 });
    try {
      const r = await transfer(lab, a.container, b.container, 20 * MB);
      expect(r.received).toEqual(r.sent);
      const seen = await impaired.counts();
      // Counted per socket buffer: with UDP GSO one may hold dozens of datagrams.
      expect(seen.dropped).toBeGreaterThan(10);
      expect(seen.delayed).toBeGreaterThan(50);
    } finally {
      await impaired.remove();
    }
    const drops = (await b.daemon.status()).counters.drops;
    expect(drops.bad_seal).toBe(0);
  }, 180_000);
});

describe('key renewal and packets too big for the path', () => {
  let lab: Lab;
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts = [await lab.addHost('a'), await lab.addHost('b')];
    // An MTU larger than the sealed sleeve takes (1500 - 28 - 34 = 1438), and keys renewed every 1,000 datagrams.
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []), ['--password', PASSWORD, '--mtu', '1500', '--rekey-after', '1000']);
  }, 90_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('answers a DF packet over the path MTU with ICMP fragmentation-needed naming 1438', async () => {
    const [a, b] = sides;
    const out = await lab.exec(a.container.ns, 'ping', ['-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '1472', b.container.ip], 10_000).catch((e: Error) => e.message);
    expect(out).toMatch(/mtu ?= ?1438/i);
    expect((await a.daemon.status()).counters.drops.too_big).toBeGreaterThanOrEqual(1);
    // Smaller ones pass.
    expect(await lab.exec(a.container.ns, 'ping', ['-c', '2', '-i', '0.2', '-M', 'do', '-s', '1410', b.container.ip])).toMatch(/2 received/);
  });

  it('TCP finds the path MTU and a transfer crosses many key epochs intact', async () => {
    const [a, b] = sides;
    const r = await transfer(lab, a.container, b.container, 8 * MB);
    expect(r.received).toEqual(r.sent);
    const sa = await a.daemon.status();
    const sb = await b.daemon.status();
    expect(sa.encryption!.neighbours[0].txEpoch).toBeGreaterThanOrEqual(4);
    expect(sb.encryption!.neighbours[0].rxEpoch).toBe(sa.encryption!.neighbours[0].txEpoch);
    expect(sb.counters.drops.bad_seal + sb.counters.drops.replay).toBe(0);
  });
});

async function daemonPid(lab: Lab, side: MeshSide): Promise<number> {
  // The daemon is the node process in the host's namespace listening on the API socket.
  const out = await lab.exec(side.host.ns, 'ss', ['-xlpn']);
  const line = out.split('\n').find((l) => l.includes(side.daemon.apiSocket))!;
  return Number(/pid=(\d+)/.exec(line)![1]);
}
