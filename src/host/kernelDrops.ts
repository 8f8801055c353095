// Packets the kernel dropped before the daemon could read them, because the
// daemon fell behind: at the TUN's full queue (txqueuelen, 500; the TUN's
// transmit drops) and at the data socket's full receive buffer (the socket's
// drops). /proc/net is the reading process's own network namespace (through
// /proc/self), where /sys may show another's when it was not remounted.
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

/** The drops of the UDP sockets bound to `port` in /proc/net/udp or udp6 text, summed; null when none is listed. */
export function parseSocketDrops(procNetUdp: string, port: number): number | null {
  const wanted = port.toString(16).toUpperCase().padStart(4, '0');
  let sum: number | null = null;
  for (const line of procNetUdp.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13 || fields[1].slice(fields[1].lastIndexOf(':') + 1) !== wanted) continue;
    const drops = Number(fields[12]);
    if (Number.isSafeInteger(drops)) sum = (sum ?? 0) + drops;
  }
  return sum;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** The kernel's count of packets dropped at `tun`'s full queue since the device was made; null when unreadable. */
export function tunQueueDrops(tun: string): number | null {
  return parseTxDrops(read('/proc/net/dev'), tun);
}

/** The kernel's count of datagrams dropped at the full receive buffers of the data sockets on `port` since they were opened (a GRO batch counts once); null when unreadable. */
export function dataSocketDrops(port: number): number | null {
  const v4 = parseSocketDrops(read('/proc/net/udp'), port);
  const v6 = parseSocketDrops(read('/proc/net/udp6'), port);
  return v4 === null && v6 === null ? null : (v4 ?? 0) + (v6 ?? 0);
}
