// Many MeshNodes in one process, on simulated time: messages are delivered
// after a fixed latency through an event queue, ticks run on schedule. The
// same gossip, routing and allocation code as the daemon, minus TCP.
import type { BlockSpace } from '../ipam/blocks.js';
import { SLEEVE_DEFAULT_PORT } from '../dataplane/sleeve/sleeveFormat.js';
import type { MeshMessage } from './messages.js';
import { MeshNode } from './meshNode.js';
import { mulberry32 } from './seededRandom.js';
import { CONTROL_PORT, type MeshOptions } from './meshOptions.js';

interface Pending {
  at: number;
  seq: number;
  run: () => void;
}

export interface SimulationOptions {
  space: BlockSpace;
  latencyMs?: number;
  tickMs?: number;
  settleMs?: number;
  reclaimAfterMs?: number;
  batchMs?: number;
  /** Seeds every choice by chance, the nodes' included: the same seed replays the same run (default: a random one). */
  seed?: number;
}

export class MeshSimulation {
  now = 0;
  readonly nodes = new Map<string, MeshNode>();
  messages = 0;
  bytes = 0;
  lost: string[] = [];
  private readonly queue: Pending[] = [];
  private seq = 0;
  private readonly links = new Set<string>();
  private readonly dead = new Set<string>();
  private readonly latency: number;
  private readonly tickMs: number;
  private readonly meshOptions: Omit<MeshOptions, 'alone'>;
  /** The seed of this run (print it with a failure to replay it), and the source every node and the scheduler draw from. */
  readonly seed: number;
  readonly random: () => number;

  constructor(options: SimulationOptions) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.random = mulberry32(this.seed);
    this.latency = options.latencyMs ?? 1;
    this.tickMs = options.tickMs ?? 200;
    this.meshOptions = {
      space: options.space,
      settleMs: options.settleMs ?? 500,
      batchMs: options.batchMs ?? 5,
      requestTimeoutMs: 1000,
      reclaimAfterMs: options.reclaimAfterMs ?? 60_000,
      random: this.random,
    };
  }

  addNode(name: string, alone = false): MeshNode {
    const node = new MeshNode(
      { name, nickname: name, publicIp: null, controlPort: CONTROL_PORT, dataPort: SLEEVE_DEFAULT_PORT, vtepMac: null },
      null,
      { send: (to, message) => this.deliver(name, to, message) },
      () => this.now,
      (fn, ms) => this.schedule(ms, () => !this.dead.has(name) && fn()),
      { ...this.meshOptions, alone },
      {
        routesChanged: () => {},
        blockAcquired: () => {},
        blockLost: (reason) => this.lost.push(`${name}: ${reason}`),
        log: () => {},
      },
    );
    this.nodes.set(name, node);
    const firstTick = Math.floor(this.random() * this.tickMs);
    this.schedule(firstTick, () => this.tickLoop(name));
    return node;
  }

  connect(a: string, b: string): void {
    this.links.add(linkKey(a, b));
    this.schedule(this.latency, () => {
      if (!this.linked(a, b)) return;
      this.nodes.get(a)!.neighbourUp(b, `10.0.0.${this.nodes.size}`);
      this.nodes.get(b)!.neighbourUp(a, `10.0.0.${this.nodes.size}`);
    });
  }

  disconnect(a: string, b: string): void {
    if (!this.links.delete(linkKey(a, b))) return;
    if (!this.dead.has(a)) this.nodes.get(a)!.neighbourDown(b);
    if (!this.dead.has(b)) this.nodes.get(b)!.neighbourDown(a);
  }

  /** A peer dies: its connections drop at both ends (as TCP resets would tell them). */
  kill(name: string): void {
    this.dead.add(name);
    for (const key of [...this.links]) {
      const [a, b] = key.split('|');
      if (a === name || b === name) this.disconnect(a, b);
    }
  }

  alive(): MeshNode[] {
    return [...this.nodes.values()].filter((n) => !this.dead.has(n.name));
  }

  /**
   * Runs events until `until` returns true or `limitMs` of simulated time
   * passes. `until` is checked whenever simulated time has moved on by
   * `checkEveryMs` (a full convergence check costs O(n²)), so times are
   * measured to that resolution.
   */
  runUntil(until: () => boolean, limitMs: number, checkEveryMs = 1): boolean {
    const end = this.now + limitMs;
    let nextCheck = this.now;
    while (this.queue.length > 0 && this.queue[0].at <= end) {
      // Checked before the next event is taken off the queue: returning with it
      // popped would lose it (a lost tick ends that node's tick loop for good).
      const at = this.queue[0].at;
      if (at >= nextCheck) {
        if (until()) return true;
        nextCheck = at + checkEveryMs;
      }
      const next = this.pop();
      this.now = next.at;
      next.run();
    }
    if (until()) return true;
    this.now = end;
    return false;
  }

  private tickLoop(name: string): void {
    if (this.dead.has(name)) return;
    this.nodes.get(name)!.tick();
    this.schedule(this.tickMs, () => this.tickLoop(name));
  }

  private deliver(from: string, to: string, message: MeshMessage): void {
    if (!this.linked(from, to)) return;
    this.messages++;
    this.bytes += JSON.stringify(message).length;
    this.schedule(this.latency, () => {
      if (this.linked(from, to)) this.nodes.get(to)!.receive(from, message);
    });
  }

  private linked(a: string, b: string): boolean {
    return this.links.has(linkKey(a, b)) && !this.dead.has(a) && !this.dead.has(b);
  }

  private schedule(delay: number, run: () => void): void {
    const item = { at: this.now + delay, seq: this.seq++, run };
    // Binary heap insert.
    const q = this.queue;
    q.push(item);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (before(q[parent], item)) break;
      q[i] = q[parent];
      i = parent;
    }
    q[i] = item;
  }

  private pop(): Pending {
    const q = this.queue;
    const top = q[0];
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && before(q[l], q[m])) m = l;
        if (r < q.length && before(q[r], q[m])) m = r;
        if (m === i) break;
        [q[i], q[m]] = [q[m], q[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
