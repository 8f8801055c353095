// The peers a node knows, merged from gossip, and the next hop towards each:
// shortest paths over connections both ends report (a one-sided report is a
// connection still being set up, or a stale one), ties broken by name.
import type { PeerInfo } from './peerInfo.js';

/** More peers than this is an attack, not a mesh: newcomers beyond it are ignored. */
export const MAX_PEERS = 10_000;

export class Topology {
  readonly peers = new Map<string, PeerInfo>();
  /** Peers forgotten after being unreachable too long: the version forgotten, and when. */
  private readonly forgotten = new Map<string, { version: number; at: number }>();
  /** Newcomers refused because the topology was full. */
  refusedFull = 0;
  private hops = new Map<string, string>();
  private hopCounts = new Map<string, number>();
  /** Routes are recomputed when next read after a change, not at every change. */
  private stale = true;

  constructor(readonly self: string) {}

  /** Peer name -> the neighbour to send through. */
  get nextHops(): ReadonlyMap<string, string> {
    if (this.stale) this.computeRoutes();
    return this.hops;
  }

  /** Hop count to each reachable peer (and 0 to self). */
  get distances(): ReadonlyMap<string, number> {
    if (this.stale) this.computeRoutes();
    return this.hopCounts;
  }

  /** Takes a peer's info if it is newer (than what we hold, or forgot); true if it changed anything. */
  merge(info: PeerInfo): boolean {
    const known = this.peers.get(info.name);
    if (known && known.version >= info.version) return false;
    const gone = this.forgotten.get(info.name);
    if (gone && gone.version >= info.version) return false;
    if (!known && this.peers.size >= MAX_PEERS) {
      this.refusedFull++;
      return false;
    }
    this.forgotten.delete(info.name);
    this.peers.set(info.name, info);
    this.stale = true;
    return true;
  }

  /**
   * Drops a peer's info (unreachable too long). Gossip of the same or an
   * older version is ignored until `until`; a peer coming back has a newer one.
   */
  forget(name: string, now: number, until: number): void {
    const info = this.peers.get(name);
    if (!info || name === this.self) return;
    this.peers.delete(name);
    this.forgotten.set(name, { version: info.version, at: until });
    this.stale = true;
    for (const [n, f] of this.forgotten) if (f.at <= now) this.forgotten.delete(n);
  }

  reachable(name: string): boolean {
    return this.nextHops.has(name);
  }

  /** Breadth-first from self; visiting neighbours in name order makes every tie break the same way. */
  private computeRoutes(): void {
    this.stale = false;
    const hops = new Map<string, string>();
    const distances = new Map<string, number>([[this.self, 0]]);
    let frontier = [this.self];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const name of frontier) {
        for (const neighbour of this.symmetricNeighbours(name)) {
          if (distances.has(neighbour)) continue;
          distances.set(neighbour, distances.get(name)! + 1);
          hops.set(neighbour, name === this.self ? neighbour : hops.get(name)!);
          next.push(neighbour);
        }
      }
      frontier = next.sort();
    }
    this.hops = hops;
    this.hopCounts = distances;
  }

  private symmetricNeighbours(name: string): string[] {
    const info = this.peers.get(name);
    if (!info || info.departed) return [];
    return info.connections
      .filter((other) => {
        const back = this.peers.get(other);
        return back !== undefined && !back.departed && back.connections.includes(name);
      })
      .sort();
  }
}
