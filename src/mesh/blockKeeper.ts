// How a mesh peer gets and keeps its host block: founding the ring, asking
// owners for space, giving space away, reclaiming the space of peers gone too
// long, and noticing when its block is no longer its own. The gossip itself
// stays in MeshNode; this reads the topology and asks MeshNode to spread.
import { blockCidr, blockCount, blockOf, donation, freeCount } from '../ipam/blocks.js';
import { Ring, RingConflict, type RingState, type Token } from '../ipam/ring.js';
import { formatCidr, parseCidr } from '../net/ipv4.js';
import type { PersistedIpam } from '../ipam/persistedIpam.js';
import type { MeshEvents, MeshOptions } from './meshOptions.js';
import type { UnicastBody } from './messages.js';
import type { PeerInfo } from './peerInfo.js';
import type { Topology } from './topology.js';

/** What the block keeper needs of its MeshNode. */
export interface BlockKeeperHost {
  readonly name: string;
  readonly topology: Topology;
  neighbourCount(): number;
  /** When the peer set last changed (founding waits for it to settle). */
  lastChange(): number;
  reachablePeers(): PeerInfo[];
  spreadTokens(tokens: Token[]): void;
  sendUnicast(to: string, body: UnicastBody): void;
  setSubnet(subnet: string, block: number): void;
  /** A different ring replaced ours: drop news about the old one. */
  ringReplaced(): void;
}

export class BlockKeeper {
  ring: Ring | null = null;
  block: number | null = null;
  private readonly unreachable = new Map<string, number>();
  private request: { owner: string; deadline: number } | null = null;
  private readonly refusedBy = new Set<string>();

  constructor(
    private readonly host: BlockKeeperHost,
    private readonly now: () => number,
    private readonly options: MeshOptions,
    private readonly events: MeshEvents,
  ) {}

  /** Takes back the saved ring, and our block if the ring still says it is ours. */
  restore(persisted: PersistedIpam): void {
    this.ring = Ring.fromState(persisted.ring);
    if (persisted.block !== null && this.ring.ownerOf(persisted.block) === this.host.name) this.setBlock(persisted.block);
  }

  /** The owner we asked said no: ask another at the next tick. */
  refused(owner: string): void {
    if (this.request?.owner === owner) this.request.deadline = 0;
  }

  mergeRing(incoming: RingState): RingState | null {
    try {
      if (!this.ring) {
        // A delta of a ring we do not have yet: the full ring comes with anti-entropy.
        if (!incoming.tokens.some((t) => t.start === 0)) return null;
        this.ring = Ring.fromState(incoming);
        this.events.log('info', 'joined the allocation ring', { founder: incoming.founder });
        this.checkBlock();
        return this.ring.state();
      }
      const changed = this.ring.merge(incoming);
      if (changed.length > 0) this.checkBlock();
      return { founder: this.ring.founder, blocks: this.ring.blocks, tokens: changed };
    } catch (error) {
      if (!(error instanceof RingConflict) || !this.ring) return null;
      // Two rings founded apart (a partition at the very start): the lower founder's wins everywhere.
      if (incoming.founder < this.ring.founder && incoming.blocks === this.ring.blocks && incoming.tokens.some((t) => t.start === 0)) {
        this.events.log('warn', 'met a ring founded apart from ours; adopting it (the lower founder wins)', { ours: this.ring.founder, theirs: incoming.founder });
        this.ring = Ring.fromState(incoming);
        this.host.ringReplaced();
        this.checkBlock();
        return this.ring.state();
      }
      return null;
    }
  }

  /** Our block must still be ours. */
  private checkBlock(): void {
    if (this.block === null || !this.ring) return;
    const owner = this.ring.ownerOf(this.block);
    if (owner !== this.host.name) {
      const lost = formatCidr(blockCidr(this.options.space, this.block));
      this.block = null;
      this.events.blockLost(`block ${lost} now belongs to ${owner}`);
    }
  }

  seekBlock(): void {
    const now = this.now();
    if (!this.ring) {
      if (this.shouldFound(now)) {
        this.ring = Ring.found(this.host.name, blockCount(this.options.space));
        this.events.log('info', 'founded the allocation ring', { range: formatCidr(this.options.space.range), peers: this.host.reachablePeers().length });
        this.host.spreadTokens(this.ring.state().tokens);
      } else {
        return;
      }
    }
    const own = this.ring.rangesOf(this.host.name);
    for (const r of own) {
      // Block 0 stays unused: its .0 network address confuses tools, as flannel notes.
      const first = r.start === 0 ? 1 : r.start;
      if (first < r.end) return this.setBlock(first);
    }
    if (this.request && now < this.request.deadline) return;
    if (this.request) this.refusedBy.add(this.request.owner);
    const owner = this.pickDonor();
    if (!owner) {
      this.request = null;
      this.refusedBy.clear();
      return;
    }
    this.request = { owner, deadline: now + this.options.requestTimeoutMs };
    this.host.sendUnicast(owner, { t: 'block-request' });
  }

  private shouldFound(now: number): boolean {
    if (this.host.neighbourCount() === 0) return this.options.alone;
    if (now - this.host.lastChange() < this.options.settleMs) return false;
    // Nobody reachable has a ring (we would have it by now), and we are the lowest name: we found it.
    const names = this.host.reachablePeers().map((p) => p.name);
    return names.every((n) => n > this.host.name);
  }

  private pickDonor(): string | null {
    const ring = this.ring!;
    let best: { name: string; free: number } | null = null;
    for (const owner of ring.owners()) {
      if (owner === this.host.name || this.refusedBy.has(owner) || !this.host.topology.reachable(owner)) continue;
      const info = this.host.topology.peers.get(owner);
      const used = info?.subnet ? blockOf(this.options.space, parseCidr(info.subnet)) : null;
      const free = freeCount(ring, owner, used);
      if (free > 0 && (!best || free > best.free || (free === best.free && owner < best.name))) best = { name: owner, free };
    }
    return best?.name ?? null;
  }

  onBlockRequest(from: string): void {
    if (!this.ring) return this.host.sendUnicast(from, { t: 'block-refused', reason: 'no ring yet' });
    const gift = donation(this.ring, this.host.name, this.block);
    if (!gift) return this.host.sendUnicast(from, { t: 'block-refused', reason: 'no free space' });
    const changed = this.ring.transfer(this.host.name, from, gift.start, gift.end);
    this.events.log('info', 'gave space to a peer', { peer: from, blocks: gift.end - gift.start });
    this.host.spreadTokens(changed);
  }

  setBlock(block: number): void {
    this.block = block;
    this.request = null;
    this.refusedBy.clear();
    this.host.setSubnet(formatCidr(blockCidr(this.options.space, block)), block);
    this.events.blockAcquired(block);
  }

  /** Reclaims the space of peers unreachable for longer than reclaimAfterMs; only the lowest-named reachable peer does it. */
  reclaim(): void {
    if (!this.ring) return;
    const now = this.now();
    const lowest = [this.host.name, ...this.host.reachablePeers().map((p) => p.name)].sort()[0];
    if (lowest !== this.host.name) return;
    for (const owner of this.ring.owners()) {
      if (owner === this.host.name || this.host.topology.reachable(owner)) continue;
      const since = this.unreachable.get(owner) ?? now;
      if (now - since < this.options.reclaimAfterMs) continue;
      const changed = this.ring.reassign(owner, this.host.name);
      this.events.log('warn', 'reclaimed the space of a peer gone too long', { peer: owner, goneForSeconds: Math.round((now - since) / 1000) });
      this.host.spreadTokens(changed);
    }
  }

  /** Since when a peer has been unreachable, or null if it is reachable (or unknown). */
  unreachableSince(name: string): number | null {
    return this.unreachable.get(name) ?? null;
  }

  trackReachability(): void {
    const now = this.now();
    const candidates = new Set([...this.host.topology.peers.keys(), ...(this.ring?.owners() ?? [])]);
    for (const name of candidates) {
      if (name === this.host.name || this.host.topology.reachable(name)) this.unreachable.delete(name);
      else if (!this.unreachable.has(name)) this.unreachable.set(name, now);
    }
    // Peers neither known nor owning space any more (forgotten) need no clock.
    for (const name of this.unreachable.keys()) if (!candidates.has(name)) this.unreachable.delete(name);
  }
}
