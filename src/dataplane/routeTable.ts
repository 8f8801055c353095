// Longest-prefix match over IPv4 routes. One hash map per prefix length in
// use, probed longest first: a lookup costs at most one map probe per distinct
// length (in practice one or two), whatever the number of routes.
import { type Cidr, maskOf } from '../net/ipv4.js';

export interface Route<T> {
  readonly cidr: Cidr;
  readonly target: T;
}

export class RouteTable<T> {
  private readonly byLength = new Map<number, Map<number, Route<T>>>();
  /** Prefix lengths in use, longest first, with their masks. */
  private lengths: number[] = [];
  private masks: number[] = [];

  set(cidr: Cidr, target: T): void {
    let table = this.byLength.get(cidr.len);
    if (!table) {
      table = new Map();
      this.byLength.set(cidr.len, table);
      this.reindex();
    }
    table.set(cidr.addr, { cidr, target });
  }

  delete(cidr: Cidr): boolean {
    const table = this.byLength.get(cidr.len);
    if (!table || !table.delete(cidr.addr)) return false;
    if (table.size === 0) {
      this.byLength.delete(cidr.len);
      this.reindex();
    }
    return true;
  }

  lookup(addr: number): T | undefined {
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const route = this.byLength.get(lengths[i])!.get((addr & this.masks[i]) >>> 0);
      if (route !== undefined) return route.target;
    }
    return undefined;
  }

  clear(): void {
    this.byLength.clear();
    this.reindex();
  }

  get size(): number {
    let n = 0;
    for (const table of this.byLength.values()) n += table.size;
    return n;
  }

  *entries(): IterableIterator<Route<T>> {
    for (const len of this.lengths) yield* this.byLength.get(len)!.values();
  }

  private reindex(): void {
    this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    this.masks = this.lengths.map(maskOf);
  }
}
