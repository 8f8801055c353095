// Ownership of the allocation range, in blocks (one block = one host subnet),
// as a CRDT that every peer gossips. A token at block `start` says who owns
// [start, next token's start); tokens are merged key by key, the higher
// version winning (ties: the lower owner name, so every peer converges).
//
// Safety rests on one rule: only the owner of a range changes tokens inside
// it (to give part of it away). So no two peers can both believe they own a
// block, whatever order gossip arrives in and whatever the partitions — the
// one exception, reclaiming a dead peer's space, is documented in docs/mesh.md.

export interface Token {
  start: number;
  owner: string;
  version: number;
}

export interface RingState {
  /** Who created this ring; rings of different founders never merge. */
  founder: string;
  blocks: number;
  tokens: Token[];
}

export interface Range {
  start: number;
  end: number; // exclusive
}

export class RingConflict extends Error {}

export class Ring {
  private readonly tokens = new Map<number, Token>();
  private starts: number[] = [];

  private constructor(
    readonly founder: string,
    readonly blocks: number,
  ) {}

  /** A new ring: the founder owns everything. */
  static found(founder: string, blocks: number): Ring {
    const ring = new Ring(founder, blocks);
    ring.put({ start: 0, owner: founder, version: 1 });
    return ring;
  }

  static fromState(state: RingState): Ring {
    if (!Number.isInteger(state.blocks) || state.blocks < 1 || !state.tokens.some((t) => t.start === 0)) {
      throw new RingConflict('not a valid ring (no token at block 0)');
    }
    const ring = new Ring(state.founder, state.blocks);
    ring.merge(state);
    return ring;
  }

  state(): RingState {
    return { founder: this.founder, blocks: this.blocks, tokens: this.starts.map((s) => ({ ...this.tokens.get(s)! })) };
  }

  /** Merges another view of the same ring; returns the tokens that changed here. */
  merge(other: RingState): Token[] {
    if (other.founder !== this.founder || other.blocks !== this.blocks) {
      throw new RingConflict(`ring founded by ${other.founder} (${other.blocks} blocks) cannot merge into ring founded by ${this.founder} (${this.blocks} blocks)`);
    }
    const changed: Token[] = [];
    for (const t of other.tokens) {
      if (!Number.isInteger(t.start) || t.start < 0 || t.start >= this.blocks) continue;
      const mine = this.tokens.get(t.start);
      if (!mine || t.version > mine.version || (t.version === mine.version && t.owner < mine.owner)) {
        const copy = { start: t.start, owner: t.owner, version: t.version };
        this.put(copy);
        changed.push(copy);
      }
    }
    return changed;
  }

  ownerOf(block: number): string {
    return this.tokenCovering(block).owner;
  }

  /** The ranges `owner` holds, in order. */
  rangesOf(owner: string): Range[] {
    const out: Range[] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const t = this.tokens.get(this.starts[i])!;
      if (t.owner !== owner) continue;
      const end = i + 1 < this.starts.length ? this.starts[i + 1] : this.blocks;
      const last = out[out.length - 1];
      if (last && last.end === t.start) last.end = end;
      else out.push({ start: t.start, end });
    }
    return out;
  }

  owners(): Set<string> {
    return new Set([...this.tokens.values()].map((t) => t.owner));
  }

  /**
   * `self` gives [start, end) — which it must own — to `to`. Returns the
   * changed tokens to gossip.
   */
  transfer(self: string, to: string, start: number, end: number): Token[] {
    for (let b = start; b < end; b = this.nextStart(b)) {
      if (this.ownerOf(b) !== self) throw new Error(`${self} cannot give block ${b}: it belongs to ${this.ownerOf(b)}`);
    }
    const changed: Token[] = [];
    if (end < this.blocks && !this.tokens.has(end)) changed.push(this.set(end, self));
    changed.push(this.set(start, to));
    // Tokens inside the range now say `to` as well.
    for (const s of this.starts) if (s > start && s < end) changed.push(this.set(s, to));
    return changed;
  }

  /** Hands every token of `from` to `to` (reclaiming a dead peer's space); see docs/mesh.md. */
  reassign(from: string, to: string): Token[] {
    const changed: Token[] = [];
    for (const s of [...this.starts]) {
      const t = this.tokens.get(s)!;
      if (t.owner === from) changed.push(this.set(s, to));
    }
    return changed;
  }

  private set(start: number, owner: string): Token {
    const existing = this.tokens.get(start);
    const covering = this.tokenCovering(start);
    const token = { start, owner, version: Math.max(existing?.version ?? 0, covering.version) + 1 };
    this.put(token);
    return token;
  }

  private nextStart(block: number): number {
    const i = this.starts.findIndex((s) => s > block);
    return i < 0 ? this.blocks : this.starts[i];
  }

  private tokenCovering(block: number): Token {
    // Binary search for the last start <= block.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= block) lo = mid;
      else hi = mid - 1;
    }
    return this.tokens.get(this.starts[lo])!;
  }

  private put(token: Token): void {
    if (!this.tokens.has(token.start)) {
      this.starts.push(token.start);
      this.starts.sort((a, b) => a - b);
    }
    this.tokens.set(token.start, token);
  }
}
