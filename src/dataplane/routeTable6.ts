// Longest-prefix match over IPv6 routes, read straight off the packet's
// destination bytes. As for IPv4, one hash map per prefix length in use,
// probed longest first; a 128-bit key does not fit a number, so the map is
// keyed by a hash of the masked words and a hit is confirmed word by word.
// No allocation per lookup.
import { type Cidr6, maskWords6 } from '../net/ipv6Cidr.js';

export interface Route6<T> {
  readonly cidr: Cidr6;
  readonly target: T;
}

function hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 13), 0x85ebca6b);
  return (h ^ d ^ (h >>> 16)) | 0;
}

export class RouteTable6<T> {
  private readonly byLength = new Map<number, Map<number, Route6<T>[]>>();
  private lengths: number[] = [];
  /** Four mask words per length in `lengths`, in the same order. */
  private masks = new Uint32Array(0);

  set(cidr: Cidr6, target: T): void {
    let table = this.byLength.get(cidr.len);
    if (!table) {
      table = new Map();
      this.byLength.set(cidr.len, table);
      this.reindex();
    }
    const w = cidr.words;
    const key = hash(w[0], w[1], w[2], w[3]);
    const bucket = (table.get(key) ?? []).filter((r) => !sameWords(r.cidr.words, w));
    bucket.push({ cidr, target });
    table.set(key, bucket);
  }

  delete(cidr: Cidr6): boolean {
    const table = this.byLength.get(cidr.len);
    const w = cidr.words;
    const key = hash(w[0], w[1], w[2], w[3]);
    const bucket = table?.get(key);
    if (!table || !bucket) return false;
    const kept = bucket.filter((r) => !sameWords(r.cidr.words, w));
    if (kept.length === bucket.length) return false;
    if (kept.length > 0) table.set(key, kept);
    else table.delete(key);
    if (table.size === 0) {
      this.byLength.delete(cidr.len);
      this.reindex();
    }
    return true;
  }

  /** The route for the IPv6 address in buf[at, at + 16). */
  lookup(buf: Buffer, at: number): T | undefined {
    const lengths = this.lengths;
    if (lengths.length === 0) return undefined;
    const w0 = buf.readUInt32BE(at);
    const w1 = buf.readUInt32BE(at + 4);
    const w2 = buf.readUInt32BE(at + 8);
    const w3 = buf.readUInt32BE(at + 12);
    const m = this.masks;
    for (let i = 0; i < lengths.length; i++) {
      const a = (w0 & m[4 * i]) >>> 0;
      const b = (w1 & m[4 * i + 1]) >>> 0;
      const c = (w2 & m[4 * i + 2]) >>> 0;
      const d = (w3 & m[4 * i + 3]) >>> 0;
      const bucket = this.byLength.get(lengths[i])!.get(hash(a, b, c, d));
      if (bucket === undefined) continue;
      for (let k = 0; k < bucket.length; k++) {
        const r = bucket[k].cidr.words;
        if (r[0] === a && r[1] === b && r[2] === c && r[3] === d) return bucket[k].target;
      }
    }
    return undefined;
  }

  clear(): void {
    this.byLength.clear();
    this.reindex();
  }

  get size(): number {
    let n = 0;
    for (const table of this.byLength.values()) for (const bucket of table.values()) n += bucket.length;
    return n;
  }

  *entries(): IterableIterator<Route6<T>> {
    for (const len of this.lengths) for (const bucket of this.byLength.get(len)!.values()) yield* bucket;
  }

  private reindex(): void {
    this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    this.masks = new Uint32Array(4 * this.lengths.length);
    this.lengths.forEach((len, i) => this.masks.set(maskWords6(len), 4 * i));
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}
