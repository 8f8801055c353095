// The daemon's own resources, for `status` and the soak: memory, open file
// descriptors, and the event loop's active handles by kind (timers, sockets).
import { readdirSync } from 'node:fs';

export interface ProcessStatus {
  pid: number;
  rssMb: number;
  heapUsedMb: number;
  fds: number;
  /** Active libuv resources by type, e.g. { Timeout: 12, TCPSocketWrap: 3 }. */
  resources: Record<string, number>;
}

export function processStatus(): ProcessStatus {
  const memory = process.memoryUsage();
  const resources: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
  let fds = -1;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux: leave -1
  }
  return { pid: process.pid, rssMb: round(memory.rss), heapUsedMb: round(memory.heapUsed), fds, resources };
}

function round(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
