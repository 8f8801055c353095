// A TUN device opened by the addon: batch reads into a PacketBatch, batch writes out of one.
import { native, TUN_MULTI_QUEUE, TUN_OFFLOAD, TUN_VNET_HDR } from './native.js';
import type { DropCounters } from './counters.js';
import type { PacketBatch } from './packetBatch.js';

export interface TunOptions {
  /** Virtio-net headers with TSO4 and checksum offload: TCP super-packets in, glued runs out. */
  offload?: boolean;
  multiQueue?: boolean;
}

/** One read: a virtio-net header and a packet of up to 64 KiB. */
const STAGING = 65536 + 64;

export class TunDevice {
  readonly fd: number;
  readonly name: string;
  readonly offload: boolean;
  private poller: object | null = null;
  private readonly staging: Buffer | null;
  private readonly unusable = new Uint32Array(1);

  constructor(
    name: string,
    options: TunOptions = {},
    /** Where reads the addon could not use are counted (`tun_offload`). */
    private readonly drops: DropCounters | null = null,
  ) {
    this.offload = options.offload ?? false;
    const bits = (this.offload ? TUN_VNET_HDR | TUN_OFFLOAD : 0) | (options.multiQueue ? TUN_MULTI_QUEUE : 0);
    const opened = native.tunOpen(name, bits);
    this.fd = opened.fd;
    this.name = opened.name;
    this.staging = this.offload ? Buffer.allocUnsafeSlow(STAGING) : null;
  }

  /** Reads packets (or segments of super-packets) into batch slots; returns the count, or -errno. */
  read(batch: PacketBatch, max = batch.size): number {
    if (this.staging) {
      const n = native.tunReadVnet(this.fd, this.staging, batch.slab, batch.slotSize, batch.headroom, max, batch.lengths, this.unusable);
      if (this.unusable[0] !== 0 && this.drops) {
        this.drops.tun_offload += this.unusable[0];
        this.unusable[0] = 0;
      }
      return n;
    }
    return native.tunRead(this.fd, batch.slab, batch.slotSize, batch.headroom, max, batch.lengths);
  }

  /** Writes the batch's first `count` outgoing packets; returns how many the kernel took. */
  write(batch: PacketBatch, count: number): number {
    return count === 0 ? 0 : native.tunWrite(this.fd, batch.slab, batch.outOffsets, batch.outLengths, count, this.offload ? 1 : 0);
  }

  onReadable(handler: () => void): void {
    this.poller = native.pollStart(this.fd, handler);
  }

  close(): void {
    if (this.poller) native.pollStop(this.poller);
    this.poller = null;
    native.close(this.fd);
  }
}
