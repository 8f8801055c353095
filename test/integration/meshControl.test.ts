// The control plane under bad input and mismatched peers, and the mesh's run-time commands.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import type { LabDaemon } from '../../src/lab/labDaemon.js';
import { TSOVERLAY_BIN } from '../../src/lab/labDaemon.js';
import { addMeshContainer, meshArgs } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { ping } from '../helpers/traffic.js';

const PROBE = fileURLToPath(new URL('../helpers/controlProbe.mjs', import.meta.url));

describe('the control port', () => {
  let lab: Lab;
  let a: LabHost;
  let b: LabHost;
  let x: LabHost;
  let da: LabDaemon;

  beforeAll(async () => {
    lab = await Lab.create();
    [a, b, x] = [await lab.addHost('a'), await lab.addHost('b'), await lab.addHost('x')];
    [da] = await Promise.all([lab.startDaemon(a, meshArgs(a, [], []), 30_000), lab.startDaemon(b, meshArgs(b, [a]), 30_000)]);
    await eventually(async () => expect((await da.status()).mesh!.connections.map((c) => c.name)).toEqual(['b']), 15_000);
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const probe = async (mode: string) => JSON.parse(await lab.exec(x.ns, process.execPath, [PROBE, a.ip, '6783', mode], 20_000)) as { closed: boolean; refusal: string | null };

  it.each([
    ['garbage', /bad frame|first frame is not a hello/],
    ['oversized', /frame length \d+ out of bounds/],
    ['zero-length', /frame length 0 out of bounds/],
    ['bad-type', /unknown frame type 9/],
    ['bad-json-hello', /malformed hello/],
    ['message-before-hello', /first frame is not a hello/],
    ['bad-message', /bad message: gossip with malformed peers/],
  ])('drops a connection that sends %s, with a reason', async (mode, reason) => {
    const result = await probe(mode);
    expect(result.closed).toBe(true);
    expect(result.refusal).toMatch(reason);
  });

  it('drops a connection that sends half a frame and goes quiet', async () => {
    expect((await probe('truncated')).closed).toBe(true);
  });

  it('refuses a peer speaking another protocol version, naming both ranges, and logs it', async () => {
    const result = await probe('future-version');
    expect(result.refusal).toMatch(/protocol version mismatch: we speak 2-2, peer probe-\d+ speaks 7-9/);
    expect(da.log).toMatch(/"reason":"protocol version mismatch: [^"]*","msg":"refused a control connection"/);
  });

  it('kept the daemon and its real peer connection through all of that', async () => {
    const status = await da.status();
    expect(status.mesh!.connections.map((c) => c.name)).toEqual(['b']);
    expect(status.mesh!.peers.find((p) => p.name === 'b')!.reachable).toBe(true);
  });

  it('refuses a peer running another backend, on both sides', async () => {
    const dx = await lab.startDaemon(x, meshArgs(x, [a], ['--backend', 'vxlan']), 5_000).catch((e: Error) => e);
    // x cannot get a block from anyone (it never joins), so it does not become ready; its log says why.
    expect(dx).toBeInstanceOf(Error);
    expect((dx as Error).message).toMatch(/backend mismatch: we run vxlan, peer a runs sleeve/);
    expect(da.log).toMatch(/backend mismatch: we run sleeve, peer x runs vxlan/);
  });
});

describe('mesh run-time: unreachable peers, connect and forget, restart', () => {
  let lab: Lab;
  let a: LabHost;
  let b: LabHost;
  let da: LabDaemon;
  let db: LabDaemon;

  beforeAll(async () => {
    lab = await Lab.create();
    [a, b] = [await lab.addHost('a'), await lab.addHost('b')];
    // Each starts alone (no peers named) and founds a ring of its own.
    da = await lab.startDaemon(a, meshArgs(a, [], []), 30_000);
    db = await lab.startDaemon(b, meshArgs(b, [], []), 30_000);
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  const cli = (host: LabHost, daemon: LabDaemon, ...args: string[]) => lab.exec(host.ns, process.execPath, [TSOVERLAY_BIN, ...args, '--api', daemon.apiSocket]);

  it('retries an unreachable peer with backoff and shows it in status, without harm', async () => {
    await cli(a, da, 'connect', '10.201.0.250');
    await eventually(async () => {
      const t = (await da.status()).mesh!.targets.find((t) => t.address === '10.201.0.250')!;
      expect(t.state).toBe('retrying');
      expect(t.lastError).toMatch(/timed out|EHOSTUNREACH|ECONNREFUSED/);
    }, 15_000);
    await cli(a, da, 'forget', '10.201.0.250');
    expect((await da.status()).mesh!.targets.find((t) => t.address === '10.201.0.250')).toBeUndefined();
  });

  it('two meshes founded apart: connecting them keeps the lower founder\'s ring and blocks', async () => {
    // a and b each founded a ring alone, and both use its first block.
    const blockA = (await da.status()).subnet;
    expect((await db.status()).subnet).toBe(blockA);
    await cli(b, db, 'connect', a.ip);
    // b adopts a's ring, in which its block is a's: it exits so that a restart takes a new one.
    await eventually(async () => expect(db.log).toMatch(/met a ring founded apart from ours; adopting it/), 15_000);
    await eventually(async () => expect(db.log).toMatch(/lost our block: block 10\.32\.1\.0\/24 now belongs to a; exiting/), 15_000);
    expect((await da.status()).subnet).toBe(blockA);
  });

  it('a restarted peer gets its block back', async () => {
    await db.start(30_000); // restarts b (it exited after losing its block), now inside a's ring
    const sideB = await addMeshContainer(lab, b, db);
    const sideA = await addMeshContainer(lab, a, da);
    expect(sideB.subnet).not.toBe(sideA.subnet);
    await eventually(async () => expect(await ping(lab, sideA.container, sideB.container.ip)).toMatch(/3 received/), 15_000);
    await db.stop();
    await db.start(30_000);
    expect((await db.status()).subnet).toBe(sideB.subnet);
    expect((await da.status()).mesh!.peers.find((p) => p.name === 'b')!.departed).toBe(false);
    await eventually(async () => expect(await ping(lab, sideA.container, sideB.container.ip)).toMatch(/3 received/), 15_000);
  });
});
