// A peer's view of the allocation ring and its block, as kept across a restart.
import type { RingState } from './ring.js';

export interface PersistedIpam {
  ring: RingState;
  block: number | null;
  /** Control addresses (ip:port, [ipv6]:port) of the peers known at the time, to find the mesh again after a restart. */
  peers?: string[];
}
