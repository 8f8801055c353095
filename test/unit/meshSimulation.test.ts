// Gossip, routing and block allocation over the in-memory transport.
import { describe, expect, it } from 'vitest';
import { blockCidr } from '../../src/ipam/blocks.js';
import { MeshSimulation } from '../../src/mesh/simulation.js';
import { formatCidr, parseCidr } from '../../src/net/ipv4.js';
import type { PeerInfo } from '../../src/mesh/peerInfo.js';
import { MAX_PEERS } from '../../src/mesh/topology.js';

const space = { range: parseCidr('10.32.0.0/12'), blockLen: 24 };

function blocksDistinct(sim: MeshSimulation): boolean {
  const blocks = sim.alive().map((n) => n.block);
  return blocks.every((b) => b !== null) && new Set(blocks).size === blocks.length;
}

function converged(sim: MeshSimulation): boolean {
  const alive = sim.alive();
  return alive.every((n) => alive.every((m) => m === n || n.topology.peers.get(m.name)?.version === m.info.version));
}

describe('mesh over an in-memory transport', () => {
  it('gives each peer of a line its own block, and routes along the line', () => {
    const sim = new MeshSimulation({ space });
    const names = ['a', 'b', 'c', 'd'];
    for (const n of names) sim.addNode(n);
    for (let i = 0; i + 1 < names.length; i++) sim.connect(names[i], names[i + 1]);
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    const a = sim.nodes.get('a')!;
    expect(a.topology.nextHops.get('d')).toBe('b');
    expect(a.topology.distances.get('d')).toBe(3);
    // Every peer agrees who owns every used block.
    for (const n of sim.alive()) for (const m of sim.alive()) expect(n.ring!.ownerOf(m.block!)).toBe(m.name);
    expect(sim.nodes.get('d')!.info.subnet).toBe(formatCidr(blockCidr(space, sim.nodes.get('d')!.block!)));
  });

  /** 30 peers joining at once, each through one peer chosen by the simulation's seed. */
  function thirtyJoin(seed?: number): MeshSimulation {
    const sim = new MeshSimulation({ space, seed });
    const names = Array.from({ length: 30 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    for (const n of names) sim.addNode(n);
    for (let i = 1; i < names.length; i++) sim.connect(names[i], names[Math.floor(sim.random() * i)]);
    return sim;
  }

  it('keeps blocks distinct when many peers join at once through one seed each', () => {
    const sim = thirtyJoin();
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 60_000), `seed ${sim.seed}`).toBe(true);
    expect(sim.lost).toEqual([]);
  });

  it('replays a run from its seed: the same messages, at the same times, to the same blocks', () => {
    const outcome = (sim: MeshSimulation) => {
      sim.runUntil(() => blocksDistinct(sim) && converged(sim), 60_000);
      return { now: sim.now, messages: sim.messages, bytes: sim.bytes, blocks: sim.alive().map((n) => [n.name, n.block]) };
    };
    const first = thirtyJoin();
    const seed = first.seed;
    expect(outcome(thirtyJoin(seed))).toEqual(outcome(first));
    expect(outcome(thirtyJoin(seed + 1))).not.toEqual(outcome(thirtyJoin(seed)));
  });

  it('reroutes around a dead relay and converges', () => {
    const sim = new MeshSimulation({ space });
    for (const n of ['a', 'b', 'c', 'd']) sim.addNode(n);
    sim.connect('a', 'b');
    sim.connect('a', 'c');
    sim.connect('b', 'c');
    sim.connect('b', 'd');
    sim.connect('c', 'd');
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    const a = sim.nodes.get('a')!;
    expect(a.topology.nextHops.get('d')).toBe('b'); // tie broken by name
    sim.kill('b');
    expect(sim.runUntil(() => a.topology.nextHops.get('d') === 'c', 5_000)).toBe(true);
  });

  it('keeps blocks through a partition and its healing, and newcomers on each side get space', () => {
    const sim = new MeshSimulation({ space });
    for (const n of ['a', 'b', 'c', 'd']) sim.addNode(n);
    sim.connect('a', 'b');
    sim.connect('b', 'c');
    sim.connect('c', 'd');
    sim.connect('d', 'a');
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    const before = new Map(sim.alive().map((n) => [n.name, n.block]));
    sim.disconnect('b', 'c');
    sim.disconnect('d', 'a');
    // Newcomers on both sides while apart.
    sim.addNode('e');
    sim.connect('e', 'a');
    sim.addNode('f');
    sim.connect('f', 'c');
    expect(sim.runUntil(() => sim.nodes.get('e')!.block !== null && sim.nodes.get('f')!.block !== null, 30_000)).toBe(true);
    sim.connect('b', 'c');
    sim.connect('d', 'a');
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    for (const [name, block] of before) expect(sim.nodes.get(name)!.block).toBe(block);
    expect(sim.lost).toEqual([]);
  });
});

describe('mesh steady state', () => {
  it('goes quiet after converging: only one short digest per peer per tick, no version churn', () => {
    const sim = new MeshSimulation({ space, tickMs: 200 });
    const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
    for (const n of names) sim.addNode(n);
    // A ring plus chords: plenty of cycles for news to come back around.
    for (let i = 0; i < names.length; i++) {
      sim.connect(names[i], names[(i + 1) % names.length]);
      sim.connect(names[i], names[(i + 7) % names.length]);
    }
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    sim.runUntil(() => false, 2_000);
    const versions = sim.alive().map((n) => n.info.version);
    sim.messages = 0;
    sim.runUntil(() => false, 5_000);
    expect(sim.alive().map((n) => n.info.version)).toEqual(versions);
    expect(sim.messages).toBeLessThanOrEqual(names.length * (5_000 / 200) * 1.2);
  });
});

describe('reclaiming the space of a dead peer', () => {
  it('hands it to the lowest-named reachable peer after reclaimAfterMs, not before', () => {
    const sim = new MeshSimulation({ space, reclaimAfterMs: 10_000 });
    for (const n of ['a', 'b', 'c']) sim.addNode(n);
    sim.connect('a', 'b');
    sim.connect('b', 'c');
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    const deadBlock = sim.nodes.get('c')!.block!;
    sim.kill('c');
    sim.runUntil(() => false, 5_000);
    expect(sim.nodes.get('a')!.ring!.ownerOf(deadBlock)).toBe('c');
    expect(sim.runUntil(() => sim.alive().every((n) => n.ring!.ownerOf(deadBlock) === 'a'), 15_000)).toBe(true);
    expect(sim.alive().every((n) => !n.ring!.owners().has('c'))).toBe(true);
  });

  it('forgets peers unreachable for longer than reclaimAfter, forged ones included, and does not take them back', () => {
    const sim = new MeshSimulation({ space, reclaimAfterMs: 5_000 });
    for (const n of ['a', 'b']) sim.addNode(n);
    sim.connect('a', 'b');
    expect(sim.runUntil(() => blocksDistinct(sim) && converged(sim), 30_000)).toBe(true);
    const a = sim.nodes.get('a')!;
    const forged = (i: number, version: number): PeerInfo => ({
      name: `forged-${i}`, version, nickname: 'x', publicIp: '10.9.9.9', controlPort: 6783, dataPort: 6784,
      vtepMac: null, subnet: null, connections: ['nobody'], departed: false,
    });
    a.receive('b', { t: 'gossip', peers: Array.from({ length: 100 }, (_, i) => forged(i, 3)), ring: null });
    expect(a.topology.peers.size).toBe(102);
    expect(sim.runUntil(() => a.topology.peers.size === 2, 10_000)).toBe(true);
    expect([...a.topology.peers.keys()].sort()).toEqual(['a', 'b']);
    a.receive('b', { t: 'gossip', peers: [forged(1, 3), forged(2, 2)], ring: null });
    expect(a.topology.peers.size).toBe(2); // the versions forgotten are not taken back
    a.receive('b', { t: 'gossip', peers: [forged(1, 4)], ring: null });
    expect(a.topology.peers.has('forged-1')).toBe(true); // a newer story is news
    // b, reachable throughout, is never forgotten; and the mesh still works.
    expect(sim.runUntil(() => !a.topology.peers.has('forged-1'), 10_000)).toBe(true);
    expect(a.topology.reachable('b')).toBe(true);
  });

  it('caps the peers it holds, whatever gossip claims', () => {
    const sim = new MeshSimulation({ space });
    sim.addNode('a', true);
    const a = sim.nodes.get('a')!;
    const peers: PeerInfo[] = Array.from({ length: MAX_PEERS + 100 }, (_, i) => ({
      name: `f${i}`, version: 1, nickname: '', publicIp: '10.9.9.9', controlPort: 6783, dataPort: 6784, vtepMac: null, subnet: null, connections: [], departed: false,
    }));
    a.receive('x', { t: 'gossip', peers, ring: null });
    expect(a.topology.peers.size).toBe(MAX_PEERS);
    expect(a.topology.refusedFull).toBe(101);
  });
});
