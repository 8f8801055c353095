// The C addon's surface (native-bindings/src). Thin: system calls and batches only.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface NativeAddon {
  readonly MAX_BATCH: number;
  tunOpen(name: string, options: number): { fd: number; name: string };
  /** Packets land at slab[i*slot + headroom]; returns count, or -errno. */
  tunRead(fd: number, slab: Buffer, slot: number, headroom: number, max: number, lengths: Uint32Array): number;
  /** vnet = 1 (IFF_VNET_HDR): runs of one TCP flow glued into super-packets behind virtio-net headers. */
  tunWrite(fd: number, slab: Buffer, offsets: Uint32Array, lengths: Uint32Array, count: number, vnet: number): number;
  udpOpen(address: string, port: number, rcvbuf: number, sndbuf: number, gro?: number): number;
  udpLocalPort(fd: number): number;
  /** lengths[i] is the datagram's real length, larger than the slot when cut. Returns count, or -errno. */
  udpRecv(
    fd: number, slab: Buffer, slot: number, headroom: number, max: number,
    lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array,
  ): number;
  /** gso = 1: runs of equal datagrams to one peer leave as one UDP_SEGMENT send. */
  udpSend(
    fd: number, slab: Buffer, offsets: Uint32Array, lengths: Uint32Array,
    addrs: Uint32Array, ports: Uint16Array, count: number, gso: number,
  ): number;
  /** IFF_VNET_HDR reads: super-packets cut into segments, partial checksums finished; staging holds one read. */
  tunReadVnet(fd: number, staging: Buffer, slab: Buffer, slot: number, headroom: number, max: number, lengths: Uint32Array, unusable: Uint32Array): number;
  /** UDP_GRO receive into `msgs` regions of `msgSize`; one entry per datagram (offsets, lengths). */
  udpRecvGro(
    fd: number, slab: Buffer, msgSize: number, msgs: number,
    offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array, ports: Uint16Array,
  ): number;
  /** crypto_secretbox in place for each datagram: [4][nonce source 12][MAC 16][text]; 32 key bytes each. */
  sealBatch(slab: Buffer, starts: Uint32Array, textLengths: Uint32Array, keys: Buffer, count: number): number;
  /** The reverse; ok[i] = 1 where the MAC verified. Returns how many did. */
  openBatch(slab: Buffer, starts: Uint32Array, textLengths: Uint32Array, keys: Buffer, count: number, ok: Uint8Array): number;
  close(fd: number): void;
  pollStart(fd: number, onReadable: (events: number) => void): object;
  pollStop(handle: object): void;
}

export const TUN_VNET_HDR = 1;
export const TUN_MULTI_QUEUE = 2;
/** With TUN_VNET_HDR: TUNSETOFFLOAD csum + tso4. */
export const TUN_OFFLOAD = 4;

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, '..', '..', 'native-bindings', 'build', 'Release', 'tsoverlay_native.node');

export const native: NativeAddon = createRequire(import.meta.url)(addonPath);
