// Datagrams on the data port that carry no packets: a mesh peer's probes of
// the UDP path (mesh/udpProbe.ts has their format). They must leave from and
// arrive at the data socket itself, since that socket's NAT mapping is what
// they find out. The packet path only tells them apart — one length, one
// first byte no encapsulation starts with — and hands them up.

/** 'T', the first byte of the probe magic: no IPv4/IPv6 version nibble, no VXLAN flags, no sleeve kind. */
export const PROBE_FIRST_BYTE = 0x54;
export const PROBE_BYTES = 32;

/** Takes a probe as it arrived: its bytes at `start` (valid only during the call) and where it came from. */
export type ProbeSink = (buf: Buffer, start: number, addr: number, port: number) => void;
