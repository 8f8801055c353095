// The one check every received inner packet gets before anything trusts it.

/**
 * The total length of the IPv4 packet at buf[at], if its header is sane and
 * the packet fits the `available` bytes that arrived; otherwise -1.
 */
export function ipv4TotalLength(buf: Buffer, at: number, available: number): number {
  if (available < 20 || buf[at] >> 4 !== 4) return -1;
  const headerLength = (buf[at] & 15) << 2;
  const total = buf.readUInt16BE(at + 2);
  return headerLength < 20 || total < headerLength || total > available ? -1 : total;
}
