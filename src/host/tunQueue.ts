// Packets the kernel dropped before the daemon could read them: the TUN's
// queue (txqueuelen, 500) full because the daemon fell behind. The kernel
// counts them as the TUN's transmit drops. /proc/net/dev is the reading
// process's own network namespace (through /proc/self), where /sys may show
// another's when it was not remounted.
import { readFileSync } from 'node:fs';

/** The transmit drops of `iface` in /proc/net/dev's text; null when it is not listed. */
export function parseTxDrops(procNetDev: string, iface: string): number | null {
  for (const line of procNetDev.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== iface) continue;
    // receive: bytes packets errs drop fifo frame compressed multicast, then transmit: bytes packets errs drop ...
    const drops = Number(line.slice(colon + 1).trim().split(/\s+/)[11]);
    return Number.isSafeInteger(drops) ? drops : null;
  }
  return null;
}

/** The kernel's count of packets dropped at `tun`'s full queue since the device was made; null when unreadable. */
export function tunQueueDrops(tun: string): number | null {
  try {
    return parseTxDrops(readFileSync('/proc/net/dev', 'utf8'), tun);
  } catch {
    return null;
  }
}
