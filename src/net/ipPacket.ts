// The one check every received inner packet gets before anything trusts it.

export const IPV6_HEADER = 40;

/**
 * The total length of the IPv4 or IPv6 packet at buf[at], if its header is
 * sane and the packet fits the `available` bytes that arrived; otherwise -1.
 * IPv6 extension headers are not read: they travel as payload.
 */
export function ipTotalLength(buf: Buffer, at: number, available: number): number {
  const version = buf[at] >> 4;
  if (version === 4) {
    if (available < 20) return -1;
    const headerLength = (buf[at] & 15) << 2;
    const total = buf.readUInt16BE(at + 2);
    return headerLength < 20 || total < headerLength || total > available ? -1 : total;
  }
  if (version === 6 && available >= IPV6_HEADER) {
    // A payload length of 0 is a jumbogram (RFC 2675): nothing an overlay carries.
    const payload = buf.readUInt16BE(at + 4);
    return payload === 0 || IPV6_HEADER + payload > available ? -1 : IPV6_HEADER + payload;
  }
  return -1;
}
