#!/usr/bin/env node
// Gossip, routing and allocation at scale, on simulated time: the daemon's own
// MeshNode code over an in-memory transport (1 ms per message, ticks every
// 200 ms). For each size, a mesh is built (each peer connected to K others, as
// with --conn-limit), then one peer joins and one dies; printed: simulated time
// and gossip rounds to converge, and messages and bytes per peer for the event.
//   node bench/meshScale.mjs [--sizes 100,300,1000] [--links 8]
import { MeshSimulation } from '../dist/mesh/simulation.js';
import { parseCidr } from '../dist/net/ipv4.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const sizes = arg('sizes', '100,300,1000').split(',').map(Number);
const links = Number(arg('links', 8));
const TICK_MS = 200;
const space = { range: parseCidr('10.0.0.0/8'), blockLen: 24 };

function converged(sim) {
  const alive = sim.alive();
  for (const n of alive) {
    if (n.block === null) return false;
    for (const m of alive) if (m !== n && n.topology.peers.get(m.name)?.version !== m.info.version) return false;
  }
  return true;
}

function connectRandom(sim, name, names, k) {
  const picked = new Set();
  while (picked.size < Math.min(k, names.length)) picked.add(names[Math.floor(Math.random() * names.length)]);
  for (const other of picked) sim.connect(name, other);
}

function measure(sim, event, check) {
  sim.messages = 0;
  sim.bytes = 0;
  const start = sim.now;
  event();
  const ok = sim.runUntil(check, 30_000);
  const ms = sim.now - start;
  const n = sim.alive().length;
  return { ok, ms, rounds: ms / TICK_MS, messagesPerPeer: sim.messages / n, bytesPerPeer: sim.bytes / n };
}

const rows = [];
for (const n of sizes) {
  const wall = Date.now();
  const sim = new MeshSimulation({ space, tickMs: TICK_MS, latencyMs: 1, settleMs: 500 });
  const names = [];
  for (let i = 0; i < n; i++) {
    const name = `peer${String(i).padStart(5, '0')}`;
    sim.addNode(name);
    if (names.length > 0) connectRandom(sim, name, names, links);
    names.push(name);
  }
  if (!sim.runUntil(() => converged(sim), 600_000)) throw new Error(`${n} peers did not converge while building`);

  const joiner = `peer${String(n).padStart(5, '0')}`;
  const join = measure(sim, () => {
    sim.addNode(joiner);
    connectRandom(sim, joiner, names, links);
  }, () => converged(sim));

  const victim = names[Math.floor(Math.random() * names.length)];
  const death = measure(sim, () => sim.kill(victim), () => converged(sim) && sim.alive().every((p) => ![...p.topology.nextHops.values()].includes(victim)));

  rows.push({ n, join, death, wallSeconds: (Date.now() - wall) / 1000 });
  process.stderr.write(`meshScale: ${n} peers done in ${((Date.now() - wall) / 1000).toFixed(1)} s\n`);
}

const fmt = (e) => `${e.ok ? '' : 'NOT CONVERGED '}${e.ms} ms (${e.rounds.toFixed(1)} rounds) | ${e.messagesPerPeer.toFixed(1)} | ${(e.bytesPerPeer / 1024).toFixed(1)} KB`;
console.log(`Mesh simulation: each peer linked to ${links} others, 1 ms per message, a tick every ${TICK_MS} ms.\n`);
console.log('| peers | join: converged after | msgs/peer | bytes/peer | death: converged after | msgs/peer | bytes/peer |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.n} | ${fmt(r.join)} | ${fmt(r.death)} |`);
