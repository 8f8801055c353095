// A crash is not an outage of the device: the TUN is persistent while the
// daemon runs, so a kill -9 leaves it with its address and routes (the
// containers keep a route, packets meanwhile are dropped, not refused), the
// next run adopts the same device, and a TCP connection across the crash
// carries on. A real stop removes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabHost } from '../../src/lab/lab.js';
import { type MeshSide, onlyLinks, startMesh } from '../../src/lab/meshHosts.js';
import { eventually } from '../helpers/eventually.js';
import { ping, transfer } from '../helpers/traffic.js';

const MB = 1 << 20;

interface TunView {
  ifindex: number;
  addresses: string[];
  route: string;
}

async function tunView(lab: Lab, side: MeshSide): Promise<TunView | null> {
  const out = await lab.exec(side.host.ns, 'ip', ['-j', 'addr', 'show', 'dev', 'tso0']).catch(() => null);
  if (out === null) return null;
  const [link] = JSON.parse(out) as { ifindex: number; addr_info: { local: string; prefixlen: number }[] }[];
  const route = (await lab.exec(side.host.ns, 'ip', ['route', 'show', 'dev', 'tso0'])).trim();
  return { ifindex: link.ifindex, addresses: link.addr_info.map((a) => `${a.local}/${a.prefixlen}`), route };
}

/** Whether the running daemon's `ready` line says it adopted the TUN (the line may reach the log after its API answers). */
async function adopted(side: MeshSide): Promise<boolean> {
  const pid = (await side.daemon.status()).process.pid;
  let ready: { tunAdopted?: boolean } | undefined;
  await eventually(async () => {
    const line = side.daemon.log.trim().split('\n').find((l) => l.includes('"msg":"ready"') && l.includes(`"pid":${pid},`));
    expect(line).toBeDefined();
    ready = JSON.parse(line!) as { tunAdopted?: boolean };
  }, 5_000, 50);
  return ready!.tunAdopted === true;
}

describe('kill -9 of an encrypted mesh host', () => {
  let lab: Lab;
  let sides: MeshSide[];

  beforeAll(async () => {
    lab = await Lab.create();
    const hosts: LabHost[] = [await lab.addHost('a'), await lab.addHost('b')];
    await onlyLinks(lab, hosts, ['a-b']);
    sides = await startMesh(lab, hosts, (i) => (i > 0 ? [hosts[0]] : []), ['--password', 'crash']);
    await eventually(async () => expect(await ping(lab, sides[0].container, sides[1].container.ip, 1)).toMatch(/1 received/), 15_000);
  }, 120_000);
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('leaves the TUN with its address and route; the next run adopts it, and a TCP transfer across the crash arrives whole', async () => {
    const [a, b] = sides;
    const before = await tunView(lab, a);
    expect(before).not.toBeNull();
    const mtu = (await a.daemon.status()).mtu;
    // 12 MB at 3 MB/s: the crash and the restart fall in the middle.
    const moving = transfer(lab, b.container, a.container, 12 * MB, 5001, 3 * MB);
    await new Promise((r) => setTimeout(r, 1500));
    a.daemon.kill();
    await eventually(async () => expect((await a.daemon.status().then(() => 'up', () => 'down'))).toBe('down'), 5_000, 50);
    // No process: the device, its address and its route are still there (the link down), the container's route too.
    const gap = await tunView(lab, a);
    expect({ ...gap, route: gap?.route.replace(' linkdown', '') }).toEqual(before);
    expect(await lab.exec(a.container.ns, 'ip', ['route', 'get', b.container.ip])).toMatch(/via/);
    await a.daemon.start(40_000);
    expect(await adopted(a)).toBe(true);
    expect(await tunView(lab, a)).toEqual(before);
    // The adopted TUN's own MTU does not count as the underlay's.
    expect((await a.daemon.status()).mtu).toBe(mtu);
    const r = await moving;
    expect(r.received).toEqual(r.sent);
  });

  it('adopts a leftover TUN from a run with offloads into one without, offloads off', async () => {
    const a = sides[0];
    const before = await tunView(lab, a);
    const tso = async () => (await lab.exec(a.host.ns, 'ethtool', ['-k', 'tso0'])).match(/tcp-segmentation-offload: (\w+)/)?.[1];
    expect(await tso()).toBe('on');
    a.daemon.kill();
    await eventually(async () => expect((await a.daemon.status().then(() => 'up', () => 'down'))).toBe('down'), 5_000, 50);
    a.daemon.args.push('--no-offload');
    await a.daemon.start(40_000);
    expect(await adopted(a)).toBe(true);
    expect(await tunView(lab, a)).toEqual(before);
    expect(await tso()).toBe('off');
    await eventually(async () => expect(await ping(lab, a.container, sides[1].container.ip, 1)).toMatch(/1 received/), 15_000);
    const r = await transfer(lab, a.container, sides[1].container, 4 * MB, 5002);
    expect(r.received).toEqual(r.sent);
    a.daemon.args.pop();
  });

  it('removes the TUN at a real stop', async () => {
    const a = sides[0];
    await a.daemon.stop();
    expect(await tunView(lab, a)).toBeNull();
    await a.daemon.start(40_000);
    expect(await adopted(a)).toBe(false);
  });
});
