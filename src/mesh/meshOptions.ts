// How a MeshNode is tuned and what it tells its owner: shared by the node
// and its block keeper.
import type { BlockSpace, BlockSpace6 } from '../ipam/blocks.js';
import type { PunchBody } from './messages.js';

/** weave's control port: the TCP port peers connect to. */
export const CONTROL_PORT = 6783;

export interface MeshOptions {
  space: BlockSpace;
  /** Dual stack: the IPv6 blocks that go with the IPv4 ones; absent or null: IPv4 only. */
  space6?: BlockSpace6 | null;
  /** News for a neighbour waits this long for more news to share its message. */
  batchMs: number;
  /** The peer set must be still this long before a new ring is founded. */
  settleMs: number;
  /** How long to wait for a block before asking another owner. */
  requestTimeoutMs: number;
  /** A peer unreachable this long loses its space to the lowest-named reachable peer. */
  reclaimAfterMs: number;
  /** No peers to wait for: found a ring alone at once. */
  alone: boolean;
  /** Where choices by chance come from (Math.random; seeded in the simulation, so a run can be replayed). */
  random?: () => number;
}

export interface MeshEvents {
  routesChanged(): void;
  blockAcquired(block: number): void;
  /** Our block now belongs to someone else (a ring conflict or a reclaim while we were away). */
  blockLost(reason: string): void;
  log(level: 'info' | 'warn', message: string, fields?: Record<string, unknown>): void;
  /** A peer offers to open a direct UDP path (udpPaths.ts). */
  punch?(from: string, body: PunchBody): void;
}
