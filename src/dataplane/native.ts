// The C addon's surface (native-bindings/src). Thin: system calls and batches
// only. What both sides must agree on (option bits, the sealed layout) is
// exported by the addon: read from it, or checked here once, at load.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { KEY_BYTES, MAC_BYTES } from '../crypto/nacl.js';
import { SEALED_HEADER } from './sleeve/sleeveFormat.js';

export interface NativeAddon {
  /** tunOpen option bits. */
  readonly TUN_VNET_HDR: number;
  readonly TUN_OFFLOAD: number;
  /** tunWrite's last argument, with 1 (vnet): glue UDP runs too (the device took USO); check complete checksums before gluing. */
  readonly TUN_WRITE_USO: number;
  readonly TUN_WRITE_CHECK: number;
  /** Where sealBatch/openBatch find the nonce source, the MAC and the text of a datagram. */
  readonly SEAL_NONCE_AT: number;
  readonly SEAL_NONCE_SOURCE: number;
  readonly SEAL_MAC_AT: number;
  readonly SEAL_TEXT_AT: number;
  readonly SEAL_KEY_BYTES: number;
  /** uso: the device took UDP segmentation offload too (Linux 6.2 on), with TUN_OFFLOAD. */
  tunOpen(name: string, options: number): { fd: number; name: string; uso: boolean };
  /** The offloads of a device opened elsewhere (handed over), as tunOpen sets them; whether it took USO. */
  tunSetOffload(fd: number, options: number): boolean;
  /** TUNSETPERSIST: on, the device (with its addresses and routes) outlives the descriptor. */
  tunSetPersist(fd: number, on: number): void;
  /** Packets land at slab[i*slot + headroom]; returns count, or -errno. */
  tunRead(fd: number, slab: Buffer, slot: number, headroom: number, max: number, lengths: Uint32Array): number;
  /**
   * vnet = 1 (IFF_VNET_HDR): runs of one TCP flow glued into super-packets behind virtio-net headers.
   * csumStarts[i] != 0: packet i's L4 checksum is unfinished; the kernel (vnet) or the addon finishes it.
   * gsoSizes[i] != 0: packet i is a TCP super-packet; the kernel (vnet) or the addon cuts it.
   * status[i] = 0 (written) or the errno of that packet's write. Returns how many were written.
   */
  tunWrite(
    fd: number, slab: Buffer, offsets: Uint32Array, lengths: Uint32Array,
    csumStarts: Uint8Array, csumOffsets: Uint8Array, gsoSizes: Uint16Array, status: Int32Array, count: number, vnet: number,
  ): number;
  udpOpen(address: string, port: number, rcvbuf: number, sndbuf: number, gro?: number): number;
  udpLocalPort(fd: number): number;
  udpSetTtl(fd: number, ttl: number): void;
  /**
   * lengths[i] is the datagram's real length, larger than the slot when cut. Returns count, or -errno.
   * peers6 (here and below): an IPv6 socket's table of IPv6 peers (net/underlayAddress.ts); absent for an IPv4 socket.
   */
  udpRecv(
    fd: number, slab: Buffer, slot: number, headroom: number, max: number,
    lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array, peers6?: Buffer,
  ): number;
  /**
   * gso = 1: runs of equal datagrams to one peer leave as one UDP_SEGMENT send.
   * status[i] = 0 (sent) or the errno of that datagram's send. Returns how many were sent.
   */
  udpSend(
    fd: number, slab: Buffer, offsets: Uint32Array, lengths: Uint32Array,
    addrs: Uint32Array, ports: Uint16Array, status: Int32Array, count: number, gso: number, peers6?: Buffer,
  ): number;
  /**
   * udpSend for what tunReadWhole read, behind a `prefix`-byte header:
   * gsoSizes[i] != 0 marks a TCP or UDP super-packet, cut on its way out (the same
   * prefix on every segment but for its IP packet's 16-bit length at lengthAt
   * when that is not -1, headers from scratch, payloads where they lie).
   * status[i] = 0 when all of entry i went (EINVAL: not a super-packet it can cut).
   */
  udpSendCut(
    fd: number, slab: Buffer, offsets: Uint32Array, lengths: Uint32Array, gsoSizes: Uint16Array, prefix: number, lengthAt: number,
    addrs: Uint32Array, ports: Uint16Array, status: Int32Array, count: number, gso: number, peers6?: Buffer,
  ): number;
  /**
   * Reads one packet after another into the slab (offsets, lengths), a TCP or
   * UDP super-packet whole (vnet = 1: IFF_VNET_HDR): gsoSizes[i] its segment
   * size (0: plain), segments[i] and segmentBytes[i] what it is once cut.
   */
  tunReadWhole(
    fd: number, slab: Buffer, headroom: number, segmentMax: number, max: number, offsets: Uint32Array, lengths: Uint32Array,
    gsoSizes: Uint16Array, segments: Uint16Array, segmentBytes: Uint32Array, unusable: Uint32Array, vnet: number,
  ): number;
  /** IFF_VNET_HDR reads: super-packets cut into segments, partial checksums finished; staging holds one read. */
  tunReadVnet(fd: number, staging: Buffer, slab: Buffer, slot: number, headroom: number, max: number, lengths: Uint32Array, unusable: Uint32Array): number;
  /** UDP_GRO receive into `msgs` regions of `msgSize`; one entry per datagram (offsets, lengths). */
  udpRecvGro(
    fd: number, slab: Buffer, msgSize: number, msgs: number,
    offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array, peers6?: Buffer,
  ): number;
  /** crypto_secretbox in place for each datagram (layout: the SEAL_* constants); SEAL_KEY_BYTES of key each. */
  sealBatch(slab: Buffer, starts: Uint32Array, textLengths: Uint32Array, keys: Buffer, count: number): number;
  /** The reverse; ok[i] = 1 where the MAC verified. Returns how many did. */
  openBatch(slab: Buffer, starts: Uint32Array, textLengths: Uint32Array, keys: Buffer, count: number, ok: Uint8Array): number;
  close(fd: number): void;
  pollStart(fd: number, onReadable: (events: number) => void): object;
  pollStop(handle: object): void;
  /** Handing over to a successor (daemon/handover.ts): a unix stream socket, mode 0600. */
  unixListen(path: string): number;
  /** The accepted descriptor, or -1 when none came within the time. */
  unixAccept(fd: number, timeoutMs: number): number;
  unixConnect(path: string): number;
  peerCredentials(fd: number): { pid: number; uid: number };
  /** All of data, with the descriptors riding on its first byte (SCM_RIGHTS). */
  fdSend(fd: number, data: Buffer, fds: Int32Array, timeoutMs: number): void;
  /** One read: bytes 0 when the other end closed, -1 on time-out; fds: how many descriptors came (in fdsOut). */
  fdReceive(fd: number, buf: Buffer, fdsOut: Int32Array, timeoutMs: number): { bytes: number; fds: number };
  /** One datagram to a unix socket; a path starting with '@' is in the abstract namespace (sd_notify). */
  unixDatagram(path: string, data: Buffer): void;
}

/** What the addon throws for a failed system call, shaped like Node's own. */
export interface SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as Partial<SystemError>).syscall === 'string' && typeof (error as Partial<SystemError>).code === 'string';
}

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, '..', '..', 'native-bindings', 'build', 'Release', 'tsoverlay_native.node');

export const native: NativeAddon = createRequire(import.meta.url)(addonPath);

// The sealed sleeve header is written in TypeScript and sealed in C: one layout or none.
const layout: [string, number, number][] = [
  ['SEAL_NONCE_AT + SEAL_NONCE_SOURCE', native.SEAL_NONCE_AT + native.SEAL_NONCE_SOURCE, SEALED_HEADER],
  ['SEAL_MAC_AT', native.SEAL_MAC_AT, SEALED_HEADER],
  ['SEAL_TEXT_AT', native.SEAL_TEXT_AT, SEALED_HEADER + MAC_BYTES],
  ['SEAL_KEY_BYTES', native.SEAL_KEY_BYTES, KEY_BYTES],
];
for (const [name, inC, inTs] of layout) {
  if (inC !== inTs) throw new Error(`native addon out of step with the TypeScript: ${name} is ${inC} in C, ${inTs} here (rebuild: scripts/setup)`);
}
