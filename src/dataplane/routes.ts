// Where packets of either family go: an IPv4 table keyed by number and an
// IPv6 table read off the packet's bytes, picked by the version nibble.
import { type AnyCidr, isCidr6Value } from '../net/cidr.js';
import { RouteTable } from './routeTable.js';
import { RouteTable6 } from './routeTable6.js';

export interface AnyRoute<T> {
  readonly cidr: AnyCidr;
  readonly target: T;
}

export class Routes<T> {
  readonly v4 = new RouteTable<T>();
  readonly v6 = new RouteTable6<T>();

  set(cidr: AnyCidr, target: T): void {
    if (isCidr6Value(cidr)) this.v6.set(cidr, target);
    else this.v4.set(cidr, target);
  }

  delete(cidr: AnyCidr): boolean {
    return isCidr6Value(cidr) ? this.v6.delete(cidr) : this.v4.delete(cidr);
  }

  /** The route for the destination of the IP packet at buf[at], whose header ipTotalLength passed. */
  lookupPacket(buf: Buffer, at: number): T | undefined {
    return buf[at] >> 4 === 4 ? this.v4.lookup(buf.readUInt32BE(at + 16)) : this.v6.lookup(buf, at + 24);
  }

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  *entries(): IterableIterator<AnyRoute<T>> {
    yield* this.v4.entries();
    yield* this.v6.entries();
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
  }
}
